"""content_safety: harmful content in the answer, by category and severity, offline.

Categories (`tappass.detect.content_safety`): `weapons`, `drugs`, `malware`, `self_harm`,
`violence`, `hate`, `sexual_minors`; `categories` restricts the check to some of them
(empty: all). Severities are low (0.4: a bare mention of a weapon), medium (0.7) and high
(0.95: instructions, threats, encouragement); `sensitivity` sets the lowest severity that
blocks: `low` high only, `medium` (default) medium and up, `high` everything. Lower findings
are recorded as flags. Scans each choice's text and tool-call arguments, never the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.detect.content_safety import NAMES, WINDOW, detect_harmful_content
from tappass.pipeline.options import ContentSafetyOptions
from tappass.pipeline.step import Action, Decision, Finding, TextVerdict
from tappass.pipeline.steps._data_detection import answer_scan

if TYPE_CHECKING:
    from tappass.detect.scan import Scan
    from tappass.pipeline.context import Context

BLOCKS_AT: dict[str, float] = {"low": 0.95, "medium": 0.7, "high": 0.4}


class ContentSafety:
    id = "content_safety"
    # a subject becomes harmful with a procedural cue up to WINDOW characters away: it is
    # held until that much text has come after it
    stream_window = WINDOW + 60
    stream_arguments = True

    Options = ContentSafetyOptions

    def __init__(self, options: ContentSafetyOptions, services: Any) -> None:
        self._categories = frozenset(options.categories) or NAMES
        self._blocks_at = BLOCKS_AT[options.sensitivity]

    async def run(self, ctx: Context) -> Decision | None:
        scan = answer_scan(ctx)
        if scan is None:
            return None  # a streamed answer is governed as it passes (govern_text)
        findings = [f for per_text in self._findings(scan) for f in per_text]
        if not findings:
            return None
        return self._decision(findings)

    def stream_hold(self, text: str) -> int:
        return len(text)

    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None:
        """The same decision as `run`, on pieces of a streamed answer."""
        return TextVerdict.of(self._findings(scan), self._decision)

    def _findings(self, scan: Scan) -> tuple[tuple[Finding, ...], ...]:
        return tuple(tuple(Finding(f.type, f.start, f.end, f.score,
                                   f"answer text {index}: {f.explanation}")
                           for f in detect_harmful_content(text, self._categories))
                     for index, text in enumerate(scan.texts))

    def _decision(self, findings: list[Finding]) -> Decision:
        best = max(findings, key=lambda f: f.score)
        if best.score >= self._blocks_at:
            return Decision(Action.BLOCK, f"harmful content in the answer: {best.type} "
                            f"({best.explanation.split(': ', 1)[1]})", tuple(findings))
        return Decision(Action.FLAG, f"possibly harmful content: {best.type}", tuple(findings))
