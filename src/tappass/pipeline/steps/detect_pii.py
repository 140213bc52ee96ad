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

from tappass.detect.pii import CustomPii, PiiDetector, PiiPolicy, custom_finder
from tappass.detect.scan import Scan
from tappass.pipeline.options import PiiOptions
from tappass.pipeline.step import Action, Decision, Finding, TextVerdict

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
    stream_arguments = False  # as for whole answers: the content, not tool arguments

    Options = PiiOptions

    def __init__(self, options: PiiOptions, services: Any) -> None:
        self.options = options
        self._detector = PiiDetector()
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
        if answer and ctx.response is None:
            return None  # a streamed answer is governed as it passes (govern_text)
        scan = Scan(answer_texts(ctx.response)) if answer else ctx.request_scan()
        per_text = self.findings(scan)
        flat = tuple(f for findings in per_text for f in findings)
        if not flat:
            return None
        where = "response" if answer else "request"
        decision = _decision(action, flat, where)
        if decision.action is Action.TRANSFORM:
            masked = [mask(text, findings, redact=action == "redact")
                      for text, findings in zip(scan.texts, per_text, strict=True)]
            if answer:
                ctx.response = rewrite_answer(ctx.response, masked)
                ctx.response_bytes = None
            else:
                ctx.body = {**ctx.body, "messages": rewrite_messages(ctx.body["messages"],
                                                                      masked)}
                ctx.rescan()
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
        return TextVerdict(decision.action, decision.reason, per_text,
                           _redacted if action == "redact" else _masked)


def _decision(action: str, flat: tuple[Finding, ...], where: str) -> Decision:
    if action == "block":
        if all(f.type in NOT_BLOCKING_ALONE for f in flat):
            return Decision(Action.FLAG, f"place names in {where}; a place alone "
                            "identifies no one", flat)
        return Decision(Action.BLOCK, f"PII detected in {where}", flat)
    if action in ("mask", "redact"):
        return Decision(Action.TRANSFORM, f"PII {action}ed in {where}", flat)
    return Decision(Action.FLAG, f"PII detected in {where}; left to pii_tokenization", flat)


def _masked(finding: Finding, value: str) -> str:
    return f"[{finding.type}]"


def _redacted(finding: Finding, value: str) -> str:
    return REDACTED


def _with_custom(options: PiiOptions) -> list[str] | None:
    if options.entities is None:
        return None
    return [*options.entities, *(c.name.upper() for c in options.custom_patterns)]


def mask(text: str, findings: Sequence[Finding], *, redact: bool = False) -> str:
    """`text` with each finding's span replaced by `[TYPE]` (or `[REDACTED]`)."""
    if not findings:
        return text
    out: list[str] = []
    pos = 0
    for finding in findings:  # sorted and non-overlapping
        start, end = finding.start or 0, finding.end or 0
        out.append(text[pos:start])
        out.append(REDACTED if redact else f"[{finding.type}]")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def rewrite_messages(messages: list[dict[str, Any]], texts: list[str]) -> list[dict[str, Any]]:
    """New message objects with their text parts taken from `texts`, in `Context.texts()`
    order; messages and parts that do not change are shared, never modified."""
    feed = iter(texts)
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            new = next(feed)
            out.append(message if new == content else {**message, "content": new})
        elif isinstance(content, list):
            parts = [_rewrite_part(part, feed) for part in content]
            changed = any(a is not b for a, b in zip(parts, content, strict=True))
            out.append({**message, "content": parts} if changed else message)
        else:
            out.append(message)
    return out


def _rewrite_part(part: Any, feed: Any) -> Any:
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        new = next(feed)
        return part if new == part["text"] else {**part, "text": new}
    return part


def answer_texts(response: dict[str, Any] | None) -> list[str]:
    """The text of each choice's message in a chat completion."""
    out: list[str] = []
    for choice in (response or {}).get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            out.append(content)
    return out


def rewrite_answer(response: dict[str, Any] | None, texts: list[str]) -> dict[str, Any] | None:
    if response is None:
        return None
    feed = iter(texts)
    choices = []
    for choice in response.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            choice = {**choice, "message": {**message, "content": next(feed)}}
        choices.append(choice)
    return {**response, "choices": choices}
