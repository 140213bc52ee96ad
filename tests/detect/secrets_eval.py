"""Precision and recall of `detect_secrets` over the generated corpus, per format."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tappass.detect.secrets import detect_secrets
from tappass.pipeline.step import Finding
from tests.detect.secrets_corpus import Case, Expected


@dataclass
class Tally:
    expected: int = 0
    found: int = 0             # expected secrets found with the right type
    false_positives: int = 0   # findings that match no expected secret
    misses: list[str] = field(default_factory=list)


@dataclass
class Report:
    by_format: dict[str, Tally]
    findings: int
    correct: int
    expected: int
    found: int

    @property
    def precision(self) -> float:
        return self.correct / self.findings if self.findings else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    def table(self) -> str:
        rows = [f"{'format':28} {'n':>4} {'recall':>7} {'FP':>4}"]
        for name, t in sorted(self.by_format.items()):
            recall = f"{t.found / t.expected:.3f}" if t.expected else "-"
            rows.append(f"{name:28} {t.expected or '':>4} {recall:>7} {t.false_positives:>4}")
        rows.append(f"precision {self.precision:.4f} ({self.correct}/{self.findings}), "
                    f"recall {self.recall:.4f} ({self.found}/{self.expected})")
        return "\n".join(rows)


def _overlaps(f: Finding, e: Expected) -> bool:
    return (f.start or 0) < e.end and e.start < (f.end or 0)


def evaluate(cases: list[Case]) -> Report:
    by_format: dict[str, Tally] = defaultdict(Tally)
    findings = correct = expected = found = 0
    for case in cases:
        tally = by_format[case.format]
        got = detect_secrets(case.text)
        findings += len(got)
        for f in got:
            if any(_overlaps(f, e) and f.type == e.type for e in case.expected):
                correct += 1
            else:
                tally.false_positives += 1
                tally.misses.append(f"FP {f.type} in {case.container}: "
                                    f"{case.text[f.start or 0:f.end or 0][:40]!r}")
        for e in case.expected:
            expected += 1
            tally.expected += 1
            if any(_overlaps(f, e) and f.type == e.type for f in got):
                found += 1
                tally.found += 1
            else:
                types = [f.type for f in got]
                tally.misses.append(f"missed {e.type} in {case.container} (got {types})")
    return Report(dict(by_format), findings, correct, expected, found)


if __name__ == "__main__":
    from tests.detect.secrets_corpus import corpus
    report = evaluate(corpus())
    print(report.table())
    for name, t in sorted(report.by_format.items()):
        for miss in t.misses:
            print(name, miss)
