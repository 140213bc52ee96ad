"""Features of the injection model: word and character n-grams plus rule and structure cues.

The same functions build the features for training (scripts/train_injection.py) and at
run time, so the shipped weights always match what the detector computes. N-gram features
are binary and scaled by 1/sqrt(their number), so a long text does not win by length
alone; cue features (a rule or a structure cue fired) count 1. Each kind of n-gram is kept
as its own set of plain strings: building them and looking them up stays in C.

`fast_grams` builds the same n-gram sets with cheaper keys: tokens of ASCII text come from
one byte-table translation instead of a regular expression, word bigrams are pairs of the
words (no joined strings), and character 4-grams are their 4 Latin-1 bytes read as one
unsigned 32-bit integer, four interleaved C arrays covering every offset. The model keeps
matching weight tables (`LinearModel`), so both paths give the same score; tokens outside
Latin-1 (Greek, CJK, ...) take the string path.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"[^\W_]+")
MAX_TOKENS = 4000     # word n-grams of the first tokens only: bounded cost on huge inputs
MAX_CHARS = 1000      # character n-grams of the first characters of the token stream
KINDS = ("w", "b", "c")   # words, word bigrams, character 4-grams


@dataclass(frozen=True, slots=True)
class Features:
    words: frozenset[str]
    bigrams: frozenset[str]
    chars: frozenset[str]
    cues: frozenset[str]     # "r|<rule>" and "s|<structure cue>", weight 1 each

    @property
    def size(self) -> int:
        return len(self.words) + len(self.bigrams) + len(self.chars)

    def weighted(self) -> dict[str, float]:
        """Feature name -> value, as the linear model sees them (training)."""
        scale = 1.0 / self.size ** 0.5 if self.size else 1.0
        out: dict[str, float] = {}
        for kind, grams in zip(KINDS, (self.words, self.bigrams, self.chars), strict=True):
            out.update(dict.fromkeys((f"{kind}|{g}" for g in grams), scale))
        out.update(dict.fromkeys(self.cues, 1.0))
        return out


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())[:MAX_TOKENS]


def cues(rule_names: Iterable[str], structure: Iterable[str]) -> frozenset[str]:
    return frozenset({f"r|{name}" for name in rule_names} | {f"s|{cue}" for cue in structure})


def features(text: str, rule_names: Iterable[str], structure: Iterable[str]) -> Features:
    words = tokens(text)
    joined = " " + " ".join(words)[:MAX_CHARS] + " "
    # character 4-grams, built in C: zip of four shifted views, joined
    chars = frozenset(map("".join, zip(joined, joined[1:], joined[2:], joined[3:],
                                       strict=False)))
    return Features(frozenset(words), frozenset(map(" ".join, zip(words, words[1:],
                                                                   strict=False))),
                    chars, cues(rule_names, structure))


# ASCII letters and digits (lower-cased) stay, every other byte becomes a space: for ASCII
# text, `translate` + `split` gives exactly the tokens of `_TOKEN` on the lower-cased text
_ASCII_TOKENS = bytes(
    ord(chr(b).lower()) if b < 128 and chr(b).isalnum() else ord(" ") for b in range(256))
QUAD = "I" if array("I").itemsize == 4 else "L"   # an unsigned 32-bit C integer
FAST = array(QUAD).itemsize == 4                   # else only the string path is used


def quad_key(gram: str) -> int:
    """The integer key of a Latin-1 character 4-gram, as `fast_grams` computes it."""
    return int.from_bytes(gram.encode("latin-1"), sys.byteorder)


@dataclass(frozen=True, slots=True)
class FastGrams:
    words: set[str]
    pairs: set[tuple[str, str]]   # word bigrams, as (first, second)
    quads: set[int]               # character 4-grams, as `quad_key`

    @property
    def size(self) -> int:
        return len(self.words) + len(self.pairs) + len(self.quads)


def fast_grams(text: str) -> FastGrams | None:
    """The n-grams of `features`, with cheaper keys; None when a token is not Latin-1."""
    if not FAST:
        return None
    if text.isascii():
        words = text.encode("ascii").translate(_ASCII_TOKENS).decode("ascii").split()
        words = words[:MAX_TOKENS]
    else:
        words = tokens(text)
    try:
        joined = (" " + " ".join(words)[:MAX_CHARS] + " ").encode("latin-1")
    except UnicodeEncodeError:
        return None
    quads: set[int] = set()
    size = len(joined)
    for offset in range(4):   # the 4-grams starting at offset, offset + 4, offset + 8, ...
        count = (size - offset) // 4
        if count > 0:
            quads.update(array(QUAD, joined[offset:offset + 4 * count]))
    return FastGrams(set(words), set(zip(words, words[1:], strict=False)), quads)
