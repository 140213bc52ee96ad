"""Text normalised once for matching, with offsets mapped back to the original.

NFKC folds compatibility forms (full-width letters, ligatures, superscripts); zero-width
and other invisible format characters are removed; common homoglyphs (Cyrillic and Greek
letters that look Latin) are folded to their Latin twins. Matching runs on `text`; a span
found there is mapped back with `original_span` so redaction and reports point at what the
client actually sent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# invisible characters that split words for a human reader but not for a regex
INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u200b\u200c\u200d"
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067"
    "\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufe00\ufe01\ufe02\ufe03\ufe04"
    "\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f\ufeff\uffa0"
)

# letters that render like Latin ones (Cyrillic, Greek); folded for matching only
HOMOGLYPH_CHARS = "АВЕКМНОРСТХаеорсухіјѕԁԛԝҮүІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧοϲνаɡⅰⅼ"
HOMOGLYPHS = str.maketrans(HOMOGLYPH_CHARS, "ABEKMHOPCTXaeopcyxijsdqwYyIJSABEZHIKMNOPTYXocvagil")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    original: str
    text: str                      # what detectors match against
    offsets: tuple[int, ...] | None  # original index of each char of `text`; None: identical

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced `text[start:end]`."""
        if self.offsets is None:
            return start, end
        if start >= len(self.offsets):
            return len(self.original), len(self.original)
        last = self.offsets[end - 1] if end > start else self.offsets[start]
        return self.offsets[start], _char_end(self.original, last) if end > start else last


def _char_end(original: str, index: int) -> int:
    """One past the original character at `index` (a character may expand under NFKC)."""
    return min(index + 1, len(original))


# every character the slow path drops or folds besides NFKC changes: invisible ones, tag
# characters, homoglyphs; text with none of them that is already NFKC stays as it is
_SPECIAL = re.compile("[" + re.escape("".join(sorted(INVISIBLE | set(HOMOGLYPH_CHARS))))
                      + "\U000e0000-\U000e007f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _unchanged(text: str) -> bool:
    """True when normalising would return `text` itself (checked in C, no per-char loop)."""
    return text.isascii() or (_SPECIAL.search(text) is None
                              and unicodedata.is_normalized("NFKC", text))


def normalize(text: str) -> NormalizedText:
    """Normalise for matching; text that would not change (all ASCII, or already NFKC with
    nothing invisible or look-alike: the common cases) is returned as it is."""
    if _unchanged(text):
        return NormalizedText(text, text, None)
    out: list[str] = []
    offsets: list[int] = []
    pos = 0
    for run in _NON_ASCII.finditer(text):   # ASCII runs are copied whole: they never change
        start, end = run.span()
        out.append(text[pos:start])
        offsets.extend(range(pos, start))
        _fold(run.group(), start, out, offsets)
        pos = end
    out.append(text[pos:])
    offsets.extend(range(pos, len(text)))
    normalized = "".join(out)
    if normalized == text:
        return NormalizedText(text, text, None)
    return NormalizedText(text, normalized, tuple(offsets))


def _fold(run: str, base: int, out: list[str], offsets: list[int]) -> None:
    """Each character of a non-ASCII run: dropped when invisible, else NFKC and homoglyphs
    folded, with its original index once per character it became."""
    for index, char in enumerate(run, base):
        if char in INVISIBLE or (0xE0000 <= ord(char) <= 0xE007F):  # tag characters
            continue
        folded = unicodedata.normalize("NFKC", char).translate(HOMOGLYPHS)
        out.append(folded)
        offsets.extend([index] * len(folded))
