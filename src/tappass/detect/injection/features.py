"""Features of the injection model: word and character n-grams plus rule and structure cues.

The same functions build the features for training (scripts/train_injection.py) and at
run time, so the shipped weights always match what the detector computes. N-gram features
are binary and scaled by 1/sqrt(their number), so a long text does not win by length
alone; cue features (a rule or a structure cue fired) count 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"[^\W_]+")
MAX_TOKENS = 4000     # word n-grams of the first tokens only: bounded cost on huge inputs
MAX_CHARS = 1000      # character n-grams of the first characters of the token stream
CHAR_N = 4


@dataclass(frozen=True, slots=True)
class Features:
    ngrams: frozenset[str]   # scaled by 1/sqrt(len)
    cues: frozenset[str]     # weight 1 each

    def weighted(self) -> dict[str, float]:
        """Feature -> value, as the linear model sees them."""
        scale = 1.0 / len(self.ngrams) ** 0.5 if self.ngrams else 1.0
        out = dict.fromkeys(self.ngrams, scale)
        out.update(dict.fromkeys(self.cues, 1.0))
        return out


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())[:MAX_TOKENS]


def ngrams(words: list[str]) -> set[str]:
    out = {f"w|{w}" for w in words}
    out.update(f"b|{a} {b}" for a, b in zip(words, words[1:], strict=False))
    joined = " " + " ".join(words)[:MAX_CHARS] + " "
    out.update("c|" + joined[i:i + CHAR_N] for i in range(len(joined) - CHAR_N + 1))
    return out


def cues(rule_names: Iterable[str], structure: Iterable[str]) -> frozenset[str]:
    return frozenset({f"r|{name}" for name in rule_names} | {f"s|{cue}" for cue in structure})


def features(text: str, rule_names: Iterable[str], structure: Iterable[str]) -> Features:
    return Features(frozenset(ngrams(tokens(text))), cues(rule_names, structure))
