"""What the data-detection steps share: read the scan, filter, then redact, block or flag.

A step names its detector (a pure function, see `tappass.detect`) and what it finds; this
base reads the detector's findings from the shared scan of the request (before the call)
or of the answer (after it), adds the step's `custom_patterns`, drops findings below the
sensitivity's score or on the allowlist, and applies the configured action. Redaction
rewrites copies of the messages (or of the answer) and invalidates the scan, so later
steps see the redacted text. Findings carry types, spans and scores, never the values.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tappass.detect.memo import Memo
from tappass.detect.scan import Detector, Scan
from tappass.pipeline.options import CustomPattern
from tappass.pipeline.rewrite import answer_texts, replace_spans, rewrite_answer, rewrite_messages
from tappass.pipeline.step import Action, Decision, Finding, TextVerdict

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

MIN_SCORE = {"low": 0.9, "medium": 0.6, "high": 0.4}
_ANSWER_SCAN = "answer_scan"   # ctx.state key: (the answer it was built from, its Scan)

PerText = tuple[tuple[Finding, ...], ...]


def answer_scan(ctx: Context) -> Scan | None:
    """The shared scan of the answer's texts (None before the call or for a stream)."""
    if ctx.response is None:
        return None
    cached = ctx.state.get(_ANSWER_SCAN)
    if cached is not None and cached[0] is ctx.response:
        return cached[1]  # type: ignore[no-any-return]
    scan = Scan(answer_texts(ctx.response))
    ctx.state[_ANSWER_SCAN] = (ctx.response, scan)
    return scan


def custom_detector(patterns: Sequence[CustomPattern]) -> Detector | None:
    """One detector for a step's `custom_patterns` (compiled here, once per step)."""
    compiled = [(p, re.compile(p.pattern)) for p in patterns]
    if not compiled:
        return None

    def detect(text: str) -> list[Finding]:
        return [Finding(p.name.upper(), m.start(), m.end(), p.score,
                        p.description or f"matches the custom pattern {p.name!r}")
                for p, pattern in compiled for m in pattern.finditer(text) if m.end() > m.start()]
    return detect


class DataDetectionStep(ABC):
    id: ClassVar[str]
    what: ClassVar[str]        # "secret", "business data", ... for reasons
    # the most characters one finding spans apart from a whitespace-free run (key = value,
    # headers, hostnames with ports); a stream never cuts inside such a run anyway
    stream_window: ClassVar[int] = 128
    stream_arguments: ClassVar[bool] = True

    def __init__(self, options: Any, services: Any) -> None:
        self.options = options
        self._min_score = MIN_SCORE[options.sensitivity]
        self._allow = frozenset(options.allowlist)
        self._allow_patterns = tuple(re.compile(p) for p in options.allowlist_patterns)
        self._name, detector = self.detector(options)
        self._detector = Memo(detector)     # system prompts come back every request
        self._custom = custom_detector(options.custom_patterns)
        self._custom_name = f"{self.id}.custom.{id(self)}"

    @abstractmethod
    def detector(self, options: Any) -> tuple[str, Detector]:
        """The scan name and detector this step reads (compiled once per step)."""

    async def run(self, ctx: Context) -> Decision | None:
        answer = ctx.response is not None or ctx.chunks is not None
        scan = answer_scan(ctx) if answer else ctx.request_scan()
        if scan is None:
            return None  # a streamed answer is governed as it passes (govern_text)
        per_text = self.findings(scan)
        found = tuple(f for findings in per_text for f in findings)
        if not found:
            return None
        action, reason = self._outcome(found, "answer" if answer else "request")
        if action is Action.TRANSFORM:
            self._redact(ctx, per_text, answer)
        return Decision(action, reason, found)

    def stream_hold(self, text: str) -> int:
        return len(text)

    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None:
        """The same decision as `run`, on pieces of a streamed answer."""
        per_text = self.findings(scan)
        found = tuple(f for findings in per_text for f in findings)
        if not found:
            return None
        action, reason = self._outcome(found, "answer")
        return TextVerdict(action, reason, per_text, _span_label)

    def _outcome(self, found: tuple[Finding, ...], where: str) -> tuple[Action, str]:
        types = ", ".join(sorted({f.type for f in found}))
        action = self.options.action
        if action == "block":
            return Action.BLOCK, f"{self.what} detected in the {where}: {types}"
        if action == "redact":
            return Action.TRANSFORM, (f"redacted {len(found)} {self.what} finding(s) in the "
                                      f"{where}: {types}")
        return Action.FLAG, f"{self.what} in the {where}: {types}"

    def findings(self, scan: Scan) -> PerText:
        """Per text of `scan`, the findings this step's options keep (detectors shared)."""
        base = scan.findings(self._name, self._detector)
        if self._custom is not None:
            extra = scan.findings(self._custom_name, self._custom)
            base = tuple(a + b for a, b in zip(base, extra, strict=True))
        return tuple(tuple(f for f in findings if self._counts(f, text))
                     for findings, text in zip(base, scan.texts, strict=True))

    def _counts(self, finding: Finding, text: str) -> bool:
        if finding.score < self._min_score:
            return False
        if not (self._allow or self._allow_patterns):
            return True
        value = text[finding.start or 0:finding.end or 0]
        return value not in self._allow and not any(p.search(value)
                                                    for p in self._allow_patterns)

    def _redact(self, ctx: Context, per_text: PerText, answer: bool) -> None:
        def rewrite(index: int, text: str) -> str:
            findings = per_text[index] if index < len(per_text) else ()
            return replace_spans(text, findings, _label) if findings else text

        if answer:
            assert ctx.response is not None
            ctx.response = rewrite_answer(ctx.response, rewrite)
            ctx.response_bytes = None     # the server serialises the rewritten answer
            ctx.state.pop(_ANSWER_SCAN, None)
        else:
            ctx.body["messages"] = rewrite_messages(ctx.body["messages"], rewrite)
            ctx.rescan()


def _label(finding: Finding) -> str:
    return f"[REDACTED:{finding.type}]"


def _span_label(finding: Finding, value: str) -> str:
    return _label(finding)


