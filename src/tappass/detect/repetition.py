"""Looping output: the same run of words repeated back to back, as a degenerate or
manipulated model produces ("I will comply. I will comply. I will comply. ...").

`find_loop(words)` looks, for each period n of 1..MAX_PERIOD words, for the longest stretch
where word i equals word i+n; such a stretch of length L means the n-word phrase repeats
1 + L // n times in a row. Linear in the number of words per period; no regex backtracking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PERIOD = 12
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Loop:
    start: int      # character offsets of the repeated stretch
    end: int
    period: int     # words in the repeated phrase
    repeats: int


def find_loop(text: str, min_repeats: int, min_chars: int = 40) -> Loop | None:
    """The longest back-to-back repetition of a 1..12-word phrase repeated at least
    `min_repeats` times and covering at least `min_chars` characters (single words need
    twice as many repeats: "very very very" is prose)."""
    matches = list(_WORD.finditer(text))
    words = [m.group().lower().strip(".,;:!?\"'()") for m in matches]
    best: Loop | None = None
    for period in range(1, min(MAX_PERIOD, len(words) // 2) + 1):
        needed = min_repeats * 2 if period == 1 else min_repeats
        run = 0
        for i in range(len(words) - period):
            run = run + 1 if words[i] == words[i + period] and words[i] else 0
            repeats = 1 + run // period
            if repeats < needed:
                continue
            first = i + period - run - period + 1
            last = i + period
            start, end = matches[first].start(), matches[last].end()
            if end - start >= min_chars and (best is None or end - start > best.end - best.start):
                best = Loop(start, end, period, repeats)
    return best
