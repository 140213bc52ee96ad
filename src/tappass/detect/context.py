"""Context words near a match: what raises or lowers a detector's score.

A `Cues` holds the words that make a match more likely (``"phone"`` before a number) and
those that make it less likely (``"order"``, ``"version"``). Lookups are on a lower-cased
window of the text just before the match (and optionally just after), so they stay cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cues:
    positive: re.Pattern[str] | None
    negative: re.Pattern[str] | None
    before: int = 40
    after: int = 0

    @classmethod
    def of(cls, positive: str = "", negative: str = "", *, before: int = 40,
           after: int = 0) -> Cues:
        return cls(_words(positive), _words(negative), before, after)

    def window(self, text: str, start: int, end: int) -> str:
        head = text[max(0, start - self.before):start]
        tail = text[end:end + self.after] if self.after else ""
        return f"{head} {tail}".lower()

    def adjust(self, text: str, start: int, end: int, score: float, *, up: float = 0.2,
               down: float = 0.35) -> float:
        """`score` raised by a positive cue and lowered by a negative one, within [0, 1]."""
        window = self.window(text, start, end)
        if self.positive is not None and self.positive.search(window):
            score += up
        if self.negative is not None and self.negative.search(window):
            score -= down
        return round(min(1.0, max(0.0, score)), 3)

    def has_positive(self, text: str, start: int, end: int) -> bool:
        return self.positive is not None and bool(self.positive.search(
            self.window(text, start, end)))


def _words(phrases: str) -> re.Pattern[str] | None:
    """A pattern matching any of the `|`-separated phrases as whole words."""
    items = [p.strip() for p in phrases.split("|") if p.strip()]
    if not items:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(i) for i in items)
                      + r")(?![a-z0-9])")
