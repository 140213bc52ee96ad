"""Unicode tricks: characters that make text read differently to a model than to a person.

Runs on the text *as sent* (normalisation removes exactly what this looks for):

- `tag_characters`: U+E0000..U+E007F, invisible ASCII look-alikes that smuggle a hidden
  message (emoji subdivision flags, their one legitimate use, are exempt);
- `bidi_override`: Trojan-Source style direction overrides and isolates that reorder what
  is displayed (U+202A..U+202E, U+2066..U+2069);
- `invisible_characters`: zero-width and other invisible format characters inside words
  (a zero-width joiner between emoji or in scripts that need it is exempt);
- `variation_selectors`: selectors on plain letters, or the supplementary range
  (U+E0100..U+E01EF) used to hide bytes in a single character;
- `mixed_script`: a word mixing Latin with Cyrillic or Greek letters ("pаypal");
- `confusable_word`: a word written wholly in Cyrillic/Greek letters that look Latin, in
  otherwise Latin text;
- `styled_letters`: mathematical or full-width letters that spell a Latin word.

Pure and linear: ASCII text returns at once; findings carry spans, never the characters'
hidden content.
"""

from __future__ import annotations

import re
import unicodedata

from tappass.detect.normalize import HOMOGLYPHS, INVISIBLE
from tappass.pipeline.step import Finding

_BIDI_OVERRIDE = frozenset("\u202d\u202e")          # LRO, RLO: reorder characters
_BIDI_OTHER = frozenset("\u202a\u202b\u202c\u2066\u2067\u2068\u2069")
_JOINERS = frozenset("\u200c\u200d")                 # legitimate in emoji and many scripts
_BLACK_FLAG = "\U0001f3f4"
_SOFT_HYPHEN = "\u00ad"                               # ordinary in text pasted from documents
_WORD = re.compile(r"[^\W\d_]+")
_HOMOGLYPH_SOURCES = frozenset(chr(c) for c in HOMOGLYPHS)

SCORES = {
    "tag_characters": 0.95,
    "bidi_override": 0.9,
    "variation_selectors": 0.85,
    "mixed_script": 0.8,
    "invisible_characters": 0.75,
    "confusable_word": 0.7,
    "bidi_control": 0.5,
    "styled_letters": 0.5,
}
EXPLANATIONS = {
    "tag_characters": "invisible Unicode tag characters carrying hidden text",
    "bidi_override": "bidirectional override that reorders the displayed text",
    "bidi_control": "bidirectional embedding or isolate controls",
    "variation_selectors": "variation selectors on plain letters (hidden data)",
    "invisible_characters": "zero-width or invisible characters inside words",
    "mixed_script": "word mixing Latin with Cyrillic or Greek look-alike letters",
    "confusable_word": "word spelled with Cyrillic or Greek letters that look Latin",
    "styled_letters": "mathematical or full-width letters spelling a Latin word",
}


MAX_WORD_FINDINGS = 20   # per text: a wall of Cyrillic look-alikes is one story, not 10,000


def detect_unicode_tricks(text: str) -> list[Finding]:
    """Findings for the Unicode tricks in `text` (the original, un-normalised text).

    Character tricks give one finding per kind (first to last occurrence, with the count);
    word tricks give one finding per word, so an allowlist can exempt a word."""
    if text.isascii():
        return []
    spans: dict[str, list[int]] = {}
    _characters(text, spans)
    found = [Finding(kind, where[0], where[1] + 1, SCORES[kind],
                     f"{EXPLANATIONS[kind]} ({where[2]} found)")
             for kind, where in spans.items()]
    found.extend(Finding(kind, start, end, SCORES[kind], EXPLANATIONS[kind])
                 for kind, start, end in _words(text)[:MAX_WORD_FINDINGS])
    return found


def _note(spans: dict[str, list[int]], kind: str, start: int, end: int) -> None:
    """Track first start, last end and count of each kind."""
    found = spans.get(kind)
    if found is None:
        spans[kind] = [start, end - 1, 1]
    else:
        found[1] = end - 1
        found[2] += 1


def _characters(text: str, spans: dict[str, list[int]]) -> None:
    in_flag = False   # inside an emoji subdivision flag: black flag, tags, cancel tag
    for index, char in enumerate(text):
        code = ord(char)
        if 0xE0000 <= code <= 0xE007F:
            if not in_flag:
                _note(spans, "tag_characters", index, index + 1)
            continue
        in_flag = char == _BLACK_FLAG
        if code < 0x80:
            continue
        if char in _BIDI_OVERRIDE:
            _note(spans, "bidi_override", index, index + 1)
        elif char in _BIDI_OTHER:
            _note(spans, "bidi_control", index, index + 1)
        elif 0xE0100 <= code <= 0xE01EF or (0xFE00 <= code <= 0xFE0E and _after_letter(
                text, index)):
            _note(spans, "variation_selectors", index, index + 1)
        elif char in INVISIBLE and char != _SOFT_HYPHEN and _inside_word(text, index):
            if char not in _JOINERS or _ascii_letters_around(text, index):
                _note(spans, "invisible_characters", index, index + 1)


def _after_letter(text: str, index: int) -> bool:
    return index > 0 and text[index - 1].isascii() and text[index - 1].isalpha()


def _inside_word(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else " "
    after = text[index + 1] if index + 1 < len(text) else " "
    return not before.isspace() and not after.isspace()


def _ascii_letters_around(text: str, index: int) -> bool:
    return (index > 0 and index + 1 < len(text) and text[index - 1].isascii()
            and text[index + 1].isascii() and text[index - 1].isalpha()
            and text[index + 1].isalpha())


def _script(char: str) -> str:
    if char.isascii():
        return "LATIN"
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0]


def _words(text: str) -> list[tuple[str, int, int]]:
    latin_words = 0
    out: list[tuple[str, int, int]] = []
    confusable: list[tuple[str, int, int]] = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word.isascii():
            latin_words += 1
            continue
        kind = _word_kind(word)
        if kind == "confusable_word":
            confusable.append((kind, match.start(), match.end()))
        elif kind is not None:
            out.append((kind, match.start(), match.end()))
    # a Cyrillic word among Cyrillic words is just Russian; among Latin ones it is a disguise
    if confusable and latin_words >= 2 * len(confusable):
        out.extend(confusable)
    return out


def _word_kind(word: str) -> str | None:
    scripts = {_script(ch) for ch in word}
    if "MATHEMATICAL" in scripts or "FULLWIDTH" in scripts:
        folded = unicodedata.normalize("NFKC", word)
        if folded.isascii() and len(folded) >= 3:
            return "styled_letters"
    if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
        return "mixed_script"
    if scripts <= {"CYRILLIC", "GREEK"} and len(word) >= 3 and all(
            ch in _HOMOGLYPH_SOURCES for ch in word):
        return "confusable_word"
    return None
