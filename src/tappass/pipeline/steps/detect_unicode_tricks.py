"""detect_unicode_tricks (alias detect_unicode): blocks text that reads differently to the
model than to a person: hidden tag characters, bidi overrides, invisible characters inside
words, variation-selector smuggling, mixed-script and look-alike words.

Scans the request's texts as the client sent them (the shared scan's originals: the
normalised text no longer holds these characters), every role but `assistant`. Blocks
when a finding's score reaches the sensitivity's threshold (`low` 0.9: tag characters and
bidi overrides; `medium` 0.7: also invisible characters, variation selectors, mixed-script
and look-alike words; `high` 0.5: also bidi isolates and styled letters). Words listed in
`allowlist`, or fully matching one of `allowlist_patterns`, are exempt (a brand that mixes
scripts on purpose).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tappass.detect.unicode_tricks import detect_unicode_tricks
from tappass.pipeline.adaptive import tightened
from tappass.pipeline.options import Detector
from tappass.pipeline.step import Action, Decision, Finding
from tappass.pipeline.steps.detect_prompt_injection import aligned_roles

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

THRESHOLDS: dict[str, float] = {"low": 0.9, "medium": 0.7, "high": 0.5}
SKIPPED_ROLES = frozenset({"assistant"})


class DetectUnicodeTricks:
    id = "detect_unicode_tricks"

    Options = Detector

    def __init__(self, options: Detector, services: Any) -> None:
        self._threshold = THRESHOLDS[options.sensitivity]
        self._allowlist = WordAllowlist.of(options)

    async def run(self, ctx: Context) -> Decision | None:
        texts = ctx.request_scan().texts
        roles = aligned_roles(ctx.body["messages"], len(texts))
        threshold = tightened(ctx, self._threshold)
        hits: list[Finding] = []
        for index, (role, text) in enumerate(zip(roles, texts, strict=True)):
            if role in SKIPPED_ROLES:
                continue
            hits.extend(_located(f, f"text {index} ({role})")
                        for f in detect_unicode_tricks(text)
                        if f.score >= threshold and not self._allowlist.covers(text, f))
        if not hits:
            return None
        best = max(hits, key=lambda f: f.score)
        return Decision(Action.BLOCK, f"unicode trick detected: {best.type} in "
                        f"{best.explanation.split(':', 1)[0]}",
                        tuple(sorted(hits, key=lambda f: -f.score)))


@dataclass(frozen=True, slots=True)
class WordAllowlist:
    """Words exempt from the unicode checks: exactly listed, or fully matching a pattern."""

    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, options: Detector) -> WordAllowlist:
        return cls(frozenset(options.allowlist),
                   tuple(re.compile(p) for p in options.allowlist_patterns))

    def covers(self, text: str, finding: Finding) -> bool:
        if finding.start is None or finding.end is None:
            return False
        word = text[finding.start:finding.end]
        return word in self.exact or any(p.fullmatch(word) for p in self.patterns)


def _located(finding: Finding, where: str) -> Finding:
    return Finding(finding.type, finding.start, finding.end, finding.score,
                   f"{where}: {finding.explanation}")
