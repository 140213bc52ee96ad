"""taint_tracking: sensitive values followed across the session, checked where they go.

Before the call it labels the request's values (see `tappass.policy.taint`): what
`detect_pii` found is PII, `detect_secrets` SECRET, `detect_business_data` CONFIDENTIAL (each
step's own options apply, and the shared scan is reused), and values in tool results are
also EXTERNAL; a tool that a tool result instructs the model to call is labelled too. The
labels are fingerprints (keyed HMAC of the normalised value), kept in the session in the
shared store, so a value labelled in one turn is recognised in the next.

After the call it checks the answer against the `sinks` rules. Candidate values are the
PII and secret detectors' spans in the answer, every string in tool-call arguments, and
PII tokens (`[TOKEN_...]`, PII by construction) in outbound arguments. Defaults: SECRET
anywhere in the answer blocks; PII in the arguments of an outbound tool (email, http,
post, ... see `outbound_tools`) flags; a tool call that EXTERNAL text asked for flags.
Findings name the rule (`SECRET_IN_OUTPUT`), never the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from tappass.detect.pii import PiiDetector
from tappass.detect.secrets import detect_secrets
from tappass.pipeline.options import SinkRule, TaintOptions
from tappass.pipeline.rewrite import answer_tool_calls
from tappass.pipeline.step import Action, Decision, Finding, Phase
from tappass.pipeline.steps._data_detection import answer_scan
from tappass.pipeline.token_vault import TokenVault, token_vault
from tappass.pipeline.tokens import TOKEN_RE
from tappass.policy.taint import (
    EXTERNAL_ROLES,
    LABEL_OF_STEP,
    Fingerprint,
    instructed_tools,
    json_leaves,
    labels_of,
    member,
    text_roles,
    tool_member,
)

if TYPE_CHECKING:
    from tappass.detect.scan import Scan
    from tappass.pipeline.context import Context

_STATE = "taint_tracking"    # ctx.state: the labels this request added
# off: personal data is not governed; mask, redact: it never leaves (and is not scanned again)
_PII_GONE_OR_UNGOVERNED = frozenset({"off", "mask", "redact"})


class TaintTracking:
    id = "taint_tracking"

    Options = TaintOptions

    def __init__(self, options: TaintOptions, services: Any) -> None:
        self.options = options
        self._token_vault: TokenVault | None = None   # the server's, on first use
        self._outbound = tuple(p.lower() for p in options.outbound_tools)
        self._pii: PiiDetector | None = None

    def _vault(self, ctx: Context) -> TokenVault:
        if self._token_vault is None:
            self._token_vault = token_vault(ctx.services.settings)
        return self._token_vault

    async def run(self, ctx: Context) -> Decision | None:
        if ctx.response is None and ctx.chunks is None:
            return await self._label(ctx)
        if ctx.response is None:
            return None   # a streamed answer is not buffered here
        return await self._check(ctx)

    # -- before: label --------------------------------------------------------------------

    async def _label(self, ctx: Context) -> Decision | None:
        fingerprint = self._vault(ctx).fingerprint
        scan = ctx.request_scan()
        roles = text_roles(ctx.body["messages"])
        members: set[str] = set()
        for label, per_text in _sources(ctx, scan):
            if label == "PII" and ctx.flags.get("pii") in _PII_GONE_OR_UNGOVERNED:
                continue
            for i, found in enumerate(per_text):
                external = i < len(roles) and roles[i] in EXTERNAL_ROLES
                for f in found:
                    digest = fingerprint(scan.texts[i][f.start or 0:f.end or 0])
                    members.add(member(label, digest))
                    if external:
                        members.add(member("EXTERNAL", digest))
        names = [t["function"]["name"] for t in ctx.body.get("tools") or ()
                 if isinstance(t, dict) and isinstance(t.get("function"), dict)
                 and isinstance(t["function"].get("name"), str)]
        for i, text in enumerate(scan.texts):
            if i < len(roles) and roles[i] in EXTERNAL_ROLES:
                members.update(tool_member(fingerprint, n) for n in instructed_tools(text, names))
        if not members:
            return None
        ctx.state[_STATE] = frozenset(members)
        await ctx.session.add_taint(members)
        counts = _counts(members)
        return Decision(Action.ALLOW, f"labelled {counts} in the session")

    # -- after: check the sinks -----------------------------------------------------------

    async def _check(self, ctx: Context) -> Decision | None:
        assert ctx.response is not None
        members = await ctx.session.taint() | ctx.state.get(_STATE, frozenset())
        calls = answer_tool_calls(ctx.response)
        if not members and not any("[TOKEN_" in args for _, args in calls):
            return None
        fingerprint = self._vault(ctx).fingerprint
        found: list[Finding] = []
        blocking = False
        for rule in self.options.sinks:
            hits = list(self._hits(ctx, rule, members, calls, fingerprint))
            found.extend(hits)
            blocking = blocking or (bool(hits) and rule.action == "block")
        if not found:
            return None
        kinds = ", ".join(sorted({f.type for f in found}))
        if blocking:
            return Decision(Action.BLOCK, f"tainted data where a sink rule forbids it: {kinds}",
                            tuple(found))
        return Decision(Action.FLAG, f"tainted data reached a sink: {kinds}", tuple(found))

    def _hits(self, ctx: Context, rule: SinkRule, members: frozenset[str],
              calls: list[tuple[str, str]], fingerprint: Fingerprint) -> Iterator[Finding]:
        kind = f"{rule.label}_IN_{rule.sink.upper()}"
        if rule.sink == "tool_call":
            for name, _ in calls:
                if member(rule.label, fingerprint(f"tool:{name}")) in members:
                    yield Finding(kind, explanation=f"tool {name!r} was asked for by "
                                  f"{rule.label} text")
            return
        if rule.sink == "output":
            for text, start, end in self._answer_values(ctx):
                if rule.label in labels_of(text[start:end], members, fingerprint):
                    yield Finding(kind, start, end, 1.0, f"a value labelled {rule.label} "
                                  "earlier in the session is in the answer")
        for name, args in calls:
            if rule.sink != "outbound_call" or not self._is_outbound(name):
                continue
            for value in json_leaves(args):
                if rule.label in labels_of(value, members, fingerprint):
                    yield Finding(kind, explanation=f"a value labelled {rule.label} is an "
                                  f"argument of the outbound tool {name!r}")
            if rule.label == "PII" and ctx.flags.get("pii") != "off":
                for match in TOKEN_RE.finditer(args):
                    yield Finding(kind, match.start(), match.end(), 1.0, "a PII token is an "
                                  f"argument of the outbound tool {name!r}")

    def _answer_values(self, ctx: Context) -> Iterator[tuple[str, int, int]]:
        """(text, start, end) of every candidate value in the answer."""
        scan = answer_scan(ctx)
        if scan is None:
            return
        if self._pii is None:
            self._pii = PiiDetector()
        for name, detector in (("pii", self._pii), ("secrets", detect_secrets)):
            for text, found in zip(scan.texts, scan.findings(name, detector), strict=True):
                for f in found:
                    yield text, f.start or 0, f.end or 0
        for _, args in answer_tool_calls(ctx.response or {}):
            for value in json_leaves(args):
                at = args.find(value)
                if value and at >= 0:
                    yield args, at, at + len(value)

    def _is_outbound(self, name: str) -> bool:
        lowered = name.lower()
        return any(fnmatchcase(lowered, pattern) for pattern in self._outbound)


def _sources(ctx: Context, scan: Scan) -> Iterator[tuple[str, Any]]:
    """(label, per-text findings) of each labelling step earlier in the before phase."""
    for entry in ctx.pipeline.phases[Phase.BEFORE]:
        label = LABEL_OF_STEP.get(entry.spec.id)
        findings = getattr(entry.step, "findings", None)
        if label is not None and callable(findings):
            yield label, findings(scan)


def _counts(members: set[str]) -> str:
    counts: dict[str, int] = {}
    for item in members:
        label = item.partition(":")[0]
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
