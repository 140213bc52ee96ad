"""output_scan (alias scan_output): the answer must not carry an attack to whoever reads it
next — another agent, a tool, or the same model on the next turn.

Scans each choice's text and tool-call arguments (the answer's shared scan, which
`detect_pii` and `detect_secrets` in the after phase use too) for:

- prompt injection aimed at the next reader (`next_agent_injection`): the injection
  detector's rules (its linear model is trained on prompts, and reads a model's refusal,
  "I can't ignore my instructions", as an attack), at thresholds stricter than on requests
  (`low` 0.95, `medium` 0.85, `high` 0.6); a phrase the answer refuses is not a finding;
- hidden characters (`hidden_text`): Unicode tag characters, bidi overrides, invisible
  characters inside words and variation-selector smuggling, at `detect_unicode_tricks`'
  thresholds (look-alike words are left to that step, on requests).

Personal data and secrets in the answer are `detect_pii`'s and `detect_secrets`' (after
phase); markdown-image and link exfiltration is `check_exfiltration`'s. A finding blocks;
`allowlist` / `allowlist_patterns` exempt exact words from the unicode check.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tappass.detect.injection import load_detector
from tappass.detect.unicode_tricks import detect_unicode_tricks
from tappass.pipeline.options import Detector
from tappass.pipeline.step import Action, Decision, Finding, TextVerdict
from tappass.pipeline.steps._data_detection import answer_scan
from tappass.pipeline.steps.detect_unicode_tricks import THRESHOLDS as UNICODE_THRESHOLDS
from tappass.pipeline.steps.detect_unicode_tricks import WordAllowlist

if TYPE_CHECKING:
    from tappass.detect.scan import Scan
    from tappass.pipeline.context import Context

INJECTION_THRESHOLDS: dict[str, float] = {"low": 0.95, "medium": 0.85, "high": 0.6}
# characters that hide text from a person; look-alike words in an answer hide nothing
HIDING = frozenset({"tag_characters", "bidi_override", "invisible_characters",
                    "variation_selectors"})
# a model refusing ("I can't ignore my previous instructions") is not attacking anyone
_REFUSAL = re.compile(r"(?i)\b(?:can(?:no|')t|can not|won't|will not|unable to|not able to|"
                      r"refuse to|not allowed to|must not)\s+(?:\w+\s+){0,2}\Z")


class OutputScan:
    id = "output_scan"
    # an injection phrase spans at most a sentence or two; a refusal is read 40 before it
    stream_window = 256
    stream_arguments = True

    Options = Detector

    def __init__(self, options: Detector, services: Any) -> None:
        detector = load_detector()

        def rules(text: str) -> list[Finding]:
            return detector.scan(text, with_model=False)

        self._rules = rules
        self._injection_min = INJECTION_THRESHOLDS[options.sensitivity]
        self._unicode_min = UNICODE_THRESHOLDS[options.sensitivity]
        self._allowlist = WordAllowlist.of(options)

    async def run(self, ctx: Context) -> Decision | None:
        scan = answer_scan(ctx)
        if scan is None:
            return None  # a streamed answer is governed as it passes (govern_text)
        findings = [f for per_text in self._findings(scan) for f in per_text]
        if not findings:
            return None
        return _blocked(findings)

    def stream_hold(self, text: str) -> int:
        return len(text)

    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None:
        """The same decision as `run`, on pieces of a streamed answer."""
        return TextVerdict.of(self._findings(scan), _blocked)

    def _findings(self, scan: Scan) -> tuple[tuple[Finding, ...], ...]:
        """Per text of `scan`: its best injection finding and its hidden characters."""
        out = []
        for index, found in enumerate(scan.findings("injection_rules", self._rules)):
            text = scan.texts[index]
            findings: list[Finding] = []
            best = max((f for f in found if f.score >= self._injection_min
                        and not _refusal(text, f)), key=lambda f: f.score, default=None)
            if best is not None:
                findings.append(Finding("next_agent_injection", best.start, best.end,
                                        best.score, f"answer text {index}: {best.type}: "
                                        f"{best.explanation}"))
            findings.extend(Finding("hidden_text", f.start, f.end, f.score,
                                    f"answer text {index}: {f.type}: {f.explanation}")
                            for f in detect_unicode_tricks(text)
                            if f.type in HIDING and f.score >= self._unicode_min
                            and not self._allowlist.covers(text, f))
            out.append(tuple(findings))
        return tuple(out)


def _blocked(findings: list[Finding]) -> Decision:
    best = max(findings, key=lambda f: f.score)
    return Decision(Action.BLOCK, f"the answer carries {best.type.replace('_', ' ')} "
                                  f"({best.explanation.split(':', 1)[0]})", tuple(findings))


def _refusal(text: str, finding: Finding) -> bool:
    """Is the finding's phrase the object of a refusal ("I cannot <phrase>")?"""
    if finding.start is None:
        return False
    return _REFUSAL.search(text[max(0, finding.start - 40):finding.start]) is not None
