"""Personal data detection: every PII finder in one pure detector, and the choice of findings.

`PiiDetector` runs the finders (structured identifiers, addresses, names and places, and
spaCy NER when it is installed and `TAPPASS_NER_ENABLED` is set) and returns every
candidate with its score, overlaps included. `PiiPolicy` applies a step's options to those
candidates: entity types, per-type thresholds from the sensitivity, the allowlists, and
then overlap resolution (the best-scoring span wins). Both are built once per step
instance; calling them does no I/O.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tappass.detect.names import NameFinder
from tappass.detect.pii_address import AddressFinder
from tappass.detect.pii_ids import NationalIdFinder, PassportFinder
from tappass.detect.pii_patterns import (
    BirthDateFinder,
    CardFinder,
    EmailFinder,
    IbanFinder,
    IpFinder,
    PhoneFinder,
    SsnFinder,
)
from tappass.detect.pii_types import PII_TYPES
from tappass.detect.windows import Windows, digit_windows
from tappass.pipeline.step import Finding

# lowest score kept for each sensitivity; a per-type threshold overrides it
SENSITIVITY_FLOOR = {"low": 0.7, "medium": 0.5, "high": 0.35}

# when two findings overlap with the same score, the more specific type wins
_SPECIFICITY = {t: i for i, t in enumerate(reversed(PII_TYPES))}

Finder = Callable[[str], Iterable[Finding]]


class NumericFinder(Protocol):
    def find(self, text: str, windows: Windows) -> Iterable[Finding]: ...


class PiiDetector:
    """text -> every PII candidate (spans into `text`, overlaps allowed)."""

    def __init__(self, *, ner: bool | None = None) -> None:
        # finders that only search around digits share one pass over the text
        self._numeric: list[NumericFinder] = [
            PhoneFinder(), CardFinder(), IbanFinder(), SsnFinder(), IpFinder(),
            BirthDateFinder(), NationalIdFinder(), AddressFinder()]
        self._finders: list[Finder] = [EmailFinder(), PassportFinder(), NameFinder()]
        if ner if ner is not None else ner_enabled():
            from tappass.detect.ner import SpacyNer
            spacy_ner = SpacyNer.from_environment()
            if spacy_ner is not None:
                self._finders.append(spacy_ner)

    def __call__(self, text: str) -> list[Finding]:
        out = [f for finder in self._finders for f in finder(text)]
        windows = digit_windows(text)
        if windows:
            out.extend(f for finder in self._numeric for f in finder.find(text, windows))
        return _outside_tokens(text, out) if "[TOKEN_" in text else out


def _outside_tokens(text: str, findings: list[Finding]) -> list[Finding]:
    """`pii=tokenize`'s tokens ("[TOKEN_PERSON_90549127]") stand for values already taken
    out: nothing inside one is personal data, however its digits or capitals read."""
    from tappass.pipeline.tokens import TOKEN_RE
    spans = [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
    return [f for f in findings if f.start is None or f.end is None or not any(
        start < f.end and f.start < end for start, end in spans)]


def ner_enabled() -> bool:
    return os.environ.get("TAPPASS_NER_ENABLED", "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True, slots=True)
class CustomPii:
    name: str
    pattern: re.Pattern[str]
    score: float


class PiiPolicy:
    """A step's options applied to candidates: types, thresholds, allowlists, overlaps."""

    def __init__(self, *, sensitivity: str = "medium", thresholds: dict[str, float] | None = None,
                 entities: Sequence[str] | None = None, allowlist: Sequence[str] = (),
                 allowlist_patterns: Sequence[str] = ()) -> None:
        floor = SENSITIVITY_FLOOR[sensitivity]
        self._thresholds = {t: floor for t in PII_TYPES} | dict(thresholds or {})
        self._floor = floor
        self._entities = frozenset(e.upper() for e in entities) if entities else None
        self._allowed = frozenset(a.casefold() for a in allowlist)
        self._allowed_patterns = [re.compile(p) for p in allowlist_patterns]

    def select(self, text: str, candidates: Iterable[Finding]) -> list[Finding]:
        kept = [f for f in candidates if self._keeps(text, f)]
        return resolve_overlaps(kept)

    def _keeps(self, text: str, finding: Finding) -> bool:
        if self._entities is not None and finding.type not in self._entities:
            return False
        if finding.score < self._thresholds.get(finding.type, self._floor):
            return False
        return not self.allowed(text[finding.start:finding.end])

    def allowed(self, value: str) -> bool:
        if value.casefold() in self._allowed:
            return True
        return any(p.search(value) for p in self._allowed_patterns)


def custom_finder(patterns: Sequence[CustomPii]) -> Callable[[str], list[Finding]]:
    """A finder for configured `custom_patterns` (type = the pattern's name, upper-cased)."""
    def find(text: str) -> list[Finding]:
        return [Finding(custom.name, m.start(), m.end(), custom.score, "custom pattern")
                for custom in patterns for m in custom.pattern.finditer(text)
                if m.end() > m.start()]
    return find


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Non-overlapping findings in text order; of overlapping ones the best-scoring wins."""
    if len(findings) < 2:
        return findings
    findings = _inside_addresses_dropped(findings)
    ranked = sorted(findings, key=lambda f: (-f.score, -_SPECIFICITY.get(f.type, len(PII_TYPES)),
                                             -((f.end or 0) - (f.start or 0))))
    taken: list[Finding] = []
    for finding in ranked:
        if all(_disjoint(finding, other) for other in taken):
            taken.append(finding)
    return sorted(taken, key=lambda f: f.start or 0)


def _inside_addresses_dropped(findings: list[Finding]) -> list[Finding]:
    """A place or name inside an address is part of the address ("Czech Republic 56655")."""
    addresses = [(f.start or 0, f.end or 0) for f in findings if f.type == "ADDRESS"]
    if not addresses:
        return findings
    return [f for f in findings if not any(_part_of(f, a, b) for a, b in addresses)]


def _part_of(finding: Finding, start: int, end: int) -> bool:
    """Names and places inside an address, and the house numbers it starts with
    (`28919 136 Filadelfeos Str.` is no phone number)."""
    a, b = finding.start or 0, finding.end or 0
    if finding.type in ("LOCATION", "PERSON"):
        return start <= a and b <= end
    return finding.type == "PHONE" and a == start and b < end


def _disjoint(a: Finding, b: Finding) -> bool:
    return (a.end or 0) <= (b.start or 0) or (b.end or 0) <= (a.start or 0)
