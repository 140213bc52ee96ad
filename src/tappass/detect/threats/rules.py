"""A table of regular-expression rules gated by cheap substring tests.

A rule is tried only when one of its `needles` (lower-case substrings) occurs in the
lower-cased text: `str.__contains__` rules most rules out on ordinary prose without running
the regex, which keeps a detector with dozens of rules in the microseconds on a 2 KB prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tappass.pipeline.step import Finding


@dataclass(frozen=True, slots=True)
class Rule:
    type: str
    pattern: re.Pattern[str]
    score: float
    why: str
    needles: tuple[str, ...]
    family: str = ""


def rule(type: str, pattern: str, score: float, why: str, needles: Iterable[str],
         family: str = "", flags: int = re.IGNORECASE) -> Rule:
    return Rule(type, re.compile(pattern, flags), score, why, tuple(needles), family)


def apply(rules: Sequence[Rule], text: str, lower: str | None = None) -> list[Finding]:
    """Every match of every rule whose needles occur in `text`."""
    lower = text.lower() if lower is None else lower
    out: list[Finding] = []
    for item in rules:
        if item.needles and not any(needle in lower for needle in item.needles):
            continue
        out.extend(Finding(item.type, m.start(), m.end(), item.score, item.why)
                   for m in item.pattern.finditer(text))
    return out


def strongest_per_span(findings: list[Finding]) -> list[Finding]:
    """Findings with overlapping spans reduced to the highest-scoring one, in text order."""
    ordered = sorted(findings, key=lambda f: (-f.score, f.start or 0))
    kept: list[Finding] = []
    for finding in ordered:
        start, end = finding.start or 0, finding.end or 0
        if any(start < (k.end or 0) and (k.start or 0) < end for k in kept):
            continue
        kept.append(finding)
    return sorted(kept, key=lambda f: f.start or 0)
