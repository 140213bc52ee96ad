"""Where the digits are: the parts of a text that number-shaped detectors need to search.

Most personal identifiers contain digits, and most prose contains few. `digit_windows`
finds the runs of digits (with the separators numbers are written with), widens each by
a margin, snaps the ends to whitespace so no token is cut, and merges what overlaps. A
pattern then runs as `pattern.finditer(text, start, end)` on each window: lookbehinds still
see the text before the window, and a window never ends inside a word.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d+(?:[ .\-/()+]{1,3}\d+)*")

_MAX_SNAP = 64  # a window may end inside a longer token (e.g. a blob), never scan it whole

Windows = tuple[tuple[int, int], ...]


def digit_windows(text: str, before: int = 12, after: int = 12) -> Windows:
    out: list[tuple[int, int]] = []
    size = len(text)
    for m in _DIGITS.finditer(text):
        start = _snap_back(text, max(0, m.start() - before))
        end = _snap_forward(text, min(size, m.end() + after))
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def widen(text: str, windows: Windows, before: int, after: int = 0) -> Windows:
    """`windows` with more margin (e.g. for addresses, whose street name precedes the number)."""
    out: list[tuple[int, int]] = []
    size = len(text)
    for start, end in windows:
        start = _snap_back(text, max(0, start - before))
        end = _snap_forward(text, min(size, end + after))
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def _snap_back(text: str, pos: int) -> int:
    stop = max(0, pos - _MAX_SNAP)
    while pos > stop and not text[pos - 1].isspace():
        pos -= 1
    return pos


def _snap_forward(text: str, pos: int) -> int:
    stop = min(len(text), pos + _MAX_SNAP)
    while pos < stop and not text[pos].isspace():
        pos += 1
    return pos
