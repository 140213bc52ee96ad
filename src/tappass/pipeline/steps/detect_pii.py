"""detect_pii: personal data in the request (before) or in the answer (after).

What happens to a finding is the `pii` flag's choice (pipeline defaults < agent < request):
`mask` replaces each value with its type (`[EMAIL]`), `redact` with `[REDACTED]`, `block`
(the default when no flag is set) refuses the request with 403 — unless every finding is a
place name, which identifies no one on its own and is only recorded — `tokenize` leaves the
values to `pii_tokenization` and only records them, `off` does nothing. Masking writes
new message objects into `ctx.body` (the client's parsed request is not changed) and asks
for a fresh shared scan, so later steps see what the provider will see. Findings carry
type, span and score, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tappass.detect.memo import Memo
from tappass.detect.pii import CustomPii, PiiDetector, PiiPolicy, custom_finder
from tappass.detect.scan import Scan
from tappass.pipeline.options import PiiOptions
from tappass.pipeline.rewrite import replace_spans, rewrite_answer, rewrite_messages
from tappass.pipeline.step import Action, Decision, Finding, TextVerdict
from tappass.pipeline.steps._data_detection import answer_scan

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

DEFAULT_ACTION = "block"
# a place on its own identifies no one ("museums in Vienna"): noted and masked, never blocked
NOT_BLOCKING_ALONE = frozenset({"LOCATION"})
REDACTED = "[REDACTED]"


class DetectPii:
    id = "detect_pii"
    # the most characters one finding spans (an address reads up to 100 characters before
    # its number and 60 after); a stream never cuts inside a whitespace-free run anyway
    stream_window = 192
    stream_arguments = True   # as for whole answers: content and tool-call arguments

    Options = PiiOptions

    def __init__(self, options: PiiOptions, services: Any) -> None:
        self.options = options
        self._detector = Memo(PiiDetector())   # system prompts come back every request
        self._policy = PiiPolicy(
            sensitivity=options.sensitivity, thresholds=options.thresholds,
            entities=_with_custom(options), allowlist=options.allowlist,
            allowlist_patterns=options.allowlist_patterns)
        customs = [CustomPii(c.name.upper(), re.compile(c.pattern), c.score)
                   for c in options.custom_patterns]
        self._custom = custom_finder(customs) if customs else None
        self._custom_key = "pii.custom:" + "|".join(c.pattern.pattern for c in customs)

    def findings(self, scan: Scan) -> list[list[Finding]]:
        """Per text of `scan`, the findings this step's options keep (spans in the original)."""
        found = scan.findings("pii", self._detector)
        if self._custom is not None:
            extra = scan.findings(self._custom_key, self._custom)
            found = tuple(a + b for a, b in zip(found, extra, strict=True))
        return [self._policy.select(text, candidates)
                for text, candidates in zip(scan.texts, found, strict=True)]

    async def run(self, ctx: Context) -> Decision | None:
        action = ctx.flags.get("pii", DEFAULT_ACTION)
        if action == "off":
            return None
        answer = ctx.response is not None or ctx.chunks is not None
        scan = answer_scan(ctx) if answer else ctx.request_scan()
        if scan is None:
            return None  # a streamed answer is governed as it passes (govern_text)
        per_text = self.findings(scan)
        flat = tuple(f for findings in per_text for f in findings)
        if not flat:
            return None
        decision = _decision(action, flat, "response" if answer else "request")
        if decision.action is Action.TRANSFORM:
            _mask(ctx, per_text, answer, redact=action == "redact")
        return decision

    def stream_hold(self, text: str) -> int:
        return len(text)

    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None:
        """The same decision as `run`, on pieces of a streamed answer."""
        action = ctx.flags.get("pii", DEFAULT_ACTION)
        if action == "off":
            return None
        per_text = tuple(tuple(findings) for findings in self.findings(scan))
        flat = tuple(f for findings in per_text for f in findings)
        if not flat:
            return None
        decision = _decision(action, flat, "response")
        label = _redacted if action == "redact" else _typed
        return TextVerdict(decision.action, decision.reason, per_text,
                           lambda finding, _value: label(finding))


def _decision(action: str, flat: tuple[Finding, ...], where: str) -> Decision:
    if action == "block":
        if all(f.type in NOT_BLOCKING_ALONE for f in flat):
            return Decision(Action.FLAG, f"place names in {where}; a place alone "
                            "identifies no one", flat)
        return Decision(Action.BLOCK, f"PII detected in {where}", flat)
    if action in ("mask", "redact"):
        return Decision(Action.TRANSFORM, f"PII {action}ed in {where}", flat)
    return Decision(Action.FLAG, f"PII detected in {where}; left to pii_tokenization", flat)


def _with_custom(options: PiiOptions) -> list[str] | None:
    if options.entities is None:
        return None
    return [*options.entities, *(c.name.upper() for c in options.custom_patterns)]


def _mask(ctx: Context, per_text: list[list[Finding]], answer: bool, *,
          redact: bool) -> None:
    """Replace each finding with `[TYPE]` (or `[REDACTED]`) in copies of the request's
    messages or of the answer (content and tool-call arguments); later steps see the result."""
    def rewrite(index: int, text: str) -> str:
        findings = per_text[index] if index < len(per_text) else ()
        return mask(text, findings, redact=redact)

    if answer:
        assert ctx.response is not None
        ctx.response = rewrite_answer(ctx.response, rewrite)
        ctx.response_bytes = None     # the server serialises the rewritten answer
    else:
        ctx.body = {**ctx.body, "messages": rewrite_messages(ctx.body["messages"], rewrite)}
        ctx.rescan()


def mask(text: str, findings: Sequence[Finding], *, redact: bool = False) -> str:
    """`text` with each finding's span replaced by `[TYPE]` (or `[REDACTED]`)."""
    if not findings:
        return text
    return replace_spans(text, findings, _redacted if redact else _typed)


def _typed(finding: Finding) -> str:
    return f"[{finding.type}]"


def _redacted(finding: Finding) -> str:
    return REDACTED
