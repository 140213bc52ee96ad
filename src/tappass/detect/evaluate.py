"""Scoring detectors against labelled data: entity spans per type, or a binary label per text.

Span mode compares predicted spans with gold spans after mapping the dataset's type names to
the product's (`SPAN_MAPS`). A gold span is found, and a prediction is correct, when a span
of the same class matches it exactly (exact) or shares at least one character (overlap).
Classes group product types a dataset does not tell apart: a gold street address
overlapped by a LOCATION finding counts, as in Presidio's own evaluation, which folds
addresses and places into LOCATION. Gold types with no product counterpart are ignored;
predictions of product types the dataset does not label are counted apart, as unscored.

Binary mode (`{"text", "label"}`, label 1 = positive) reports precision, recall, F1 and the
false-positive rate of "the step blocked or flagged this text", so the injection and
secrets detectors plug in the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# dataset type -> product type
SPAN_MAPS: dict[str, dict[str, str]] = {
    "presidio": {
        "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD",
        "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS",
        "PERSON": "PERSON", "STREET_ADDRESS": "ADDRESS", "GPE": "LOCATION",
    },
}
# product types that count as one class when matching
CLASSES: dict[str, str] = {"ADDRESS": "LOCATION", "LOCATION": "LOCATION"}


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    type: str


@dataclass(slots=True)
class Counts:
    gold: int = 0
    predicted: int = 0
    found_exact: int = 0
    found_overlap: int = 0
    correct_exact: int = 0
    correct_overlap: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def scores(self, kind: str) -> dict[str, float]:
        found = getattr(self, f"found_{kind}")
        correct = getattr(self, f"correct_{kind}")
        precision = correct / self.predicted if self.predicted else 0.0
        recall = found / self.gold if self.gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}

    def report(self) -> dict[str, Any]:
        return {"gold": self.gold, "predicted": self.predicted,
                "exact": self.scores("exact"), "overlap": self.scores("overlap")}


@dataclass(slots=True)
class SpanScore:
    mapping: Mapping[str, str]
    per_type: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    unscored: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, gold: Sequence[Span], predicted: Sequence[Span]) -> None:
        scored_types = set(self.mapping.values())
        mapped = [Span(g.start, g.end, self.mapping[g.type]) for g in gold
                  if g.type in self.mapping]
        for g in mapped:
            counts = self.per_type[g.type]
            counts.gold += 1
            same = [p for p in predicted if _cls(p.type) == _cls(g.type)]
            counts.found_exact += any(_exact(g, p) for p in same)
            counts.found_overlap += any(_overlap(g, p) for p in same)
        for p in predicted:
            if p.type not in scored_types:
                self.unscored[p.type] += 1
                continue
            counts = self.per_type[p.type]
            counts.predicted += 1
            same = [g for g in mapped if _cls(g.type) == _cls(p.type)]
            counts.correct_exact += any(_exact(g, p) for g in same)
            counts.correct_overlap += any(_overlap(g, p) for g in same)

    def report(self, pattern_types: Iterable[str] = ()) -> dict[str, Any]:
        total = Counts()
        patterns = Counts()
        pattern_set = set(pattern_types)
        for name, counts in self.per_type.items():
            total.add(counts)
            if name in pattern_set:
                patterns.add(counts)
        out: dict[str, Any] = {
            "mapping": dict(self.mapping), "classes": CLASSES,
            "per_type": {name: counts.report() for name, counts in sorted(self.per_type.items())},
            "overall": total.report(),
            "unscored_predictions": dict(self.unscored)}
        if pattern_set:
            out["pattern_types"] = patterns.report()
        return out


def _cls(kind: str) -> str:
    return CLASSES.get(kind, kind)


def _exact(a: Span, b: Span) -> bool:
    return a.start == b.start and a.end == b.end


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


@dataclass(slots=True)
class BinaryScore:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, label: bool, predicted: bool) -> None:
        if predicted:
            self.tp += label
            self.fp += not label
        else:
            self.fn += label
            self.tn += not label

    def report(self) -> dict[str, Any]:
        """The figures; a rate with nothing to count (recall on a source of benign rows
        only, the false-positive rate on attacks only) is null, not 0."""
        precision = _ratio(self.tp, self.tp + self.fp)
        recall = _ratio(self.tp, self.tp + self.fn)
        f1: float | None = None
        if recall is not None:   # positives exist; none predicted is an F1 of 0
            f1 = (round(2 * precision * recall / (precision + recall), 4)
                  if precision and recall else 0.0)
        return {"rows": self.tp + self.fp + self.tn + self.fn, "tp": self.tp, "fp": self.fp,
                "tn": self.tn, "fn": self.fn, "precision": precision, "recall": recall,
                "f1": f1, "false_positive_rate": _ratio(self.fp, self.fp + self.tn)}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
