"""A table of regular-expression rules gated by cheap word and substring tests.

A regex with a leading alternation is tried at every position of a text, which on a 2 KB
prompt costs tens of microseconds per rule. So a rule is tried only when its gates pass:
one of its `words` (and one of its `also` words) is a whole word of the text (a set lookup
in the text's words, computed once per text and shared by every detector) and one of its
`needles` (lower-case substrings, for symbols such as `;` or `$(`) occurs in it. On
ordinary prose most rules are ruled out without running their regex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from tappass.detect._phrases import words_of
from tappass.pipeline.step import Finding


@dataclass(frozen=True, slots=True)
class Rule:
    type: str
    pattern: re.Pattern[str]
    score: float
    why: str
    needles: tuple[str, ...] = ()
    words: tuple[frozenset[bytes], ...] = ()   # each group must share a word with the text
    family: str = ""


def rule(type: str, pattern: str, score: float, why: str, needles: Iterable[str] = (),
         words: Iterable[str] = (), also: Iterable[str] = (), family: str = "",
         flags: int = re.IGNORECASE) -> Rule:
    groups = tuple(frozenset(w.encode() for w in group) for group in (words, also) if group)
    return Rule(type, re.compile(pattern, flags), score, why, tuple(needles), groups, family)


@lru_cache(maxsize=8)
def text_words(lower: str) -> frozenset[bytes]:
    """The words of a lower-cased text, memoised so the escalation, code-execution and
    exfiltration detectors (separate steps) split a text once. The cache holds the last 8
    texts of the process in memory (never logged); one request's texts are its hits."""
    return words_of(lower)


class RuleSet:
    """Rules indexed by the words of their first group: the candidates for a text are found
    with one set intersection instead of a test per rule."""

    __slots__ = ("rules", "_by_word", "_always", "_keys")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        by_word: dict[bytes, list[int]] = {}
        self._always = tuple(i for i, r in enumerate(self.rules) if not r.words)
        for index, item in enumerate(self.rules):
            for word in item.words[0] if item.words else ():
                by_word.setdefault(word, []).append(index)
        self._by_word = by_word
        self._keys = frozenset(by_word)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def candidates(self, lower: str) -> list[Rule]:
        """The rules whose gates pass on a lower-cased text, in table order."""
        words = text_words(lower)
        indexes = set(self._always)
        for word in self._keys & words:
            indexes.update(self._by_word[word])
        out = []
        for index in sorted(indexes):
            item = self.rules[index]
            if any(group.isdisjoint(words) for group in item.words[1:]):
                continue
            if item.needles and not any(needle in lower for needle in item.needles):
                continue
            out.append(item)
        return out


def apply(rules: RuleSet, text: str, lower: str | None = None) -> list[Finding]:
    """Every match of every rule whose gates pass on `text`."""
    lower = text.lower() if lower is None else lower
    out: list[Finding] = []
    for item in rules.candidates(lower):
        out.extend(Finding(item.type, m.start(), m.end(), item.score, item.why)
                   for m in item.pattern.finditer(text))
    return out


def strongest_per_span(findings: list[Finding]) -> list[Finding]:
    """Findings with overlapping spans reduced to the highest-scoring one, in text order."""
    if len(findings) < 2:
        return findings
    ordered = sorted(findings, key=lambda f: (-f.score, f.start or 0))
    kept: list[Finding] = []
    for finding in ordered:
        start, end = finding.start or 0, finding.end or 0
        if any(start < (k.end or 0) and (k.start or 0) < end for k in kept):
            continue
        kept.append(finding)
    return sorted(kept, key=lambda f: f.start or 0)
