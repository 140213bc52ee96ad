"""The once-per-request scan: each text normalised once, each detector run once per text.

Steps share one `Scan` per side of the call (`Context.request_scan()` for the messages;
the response side builds its own over the answer's texts). `findings(name, detector)`
returns, for every text, the detector's findings with spans in the *original* text, and
remembers them, so two steps reading the same detector (e.g. `detect_pii` and
`classify_data`) pay for it once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from tappass.detect.normalize import NormalizedText, normalize
from tappass.pipeline.step import Finding

Detector = Callable[[str], list[Finding]]


class Scan:
    __slots__ = ("_sources", "_normalized", "_results")

    def __init__(self, texts: Sequence[str]) -> None:
        self._sources = tuple(texts)
        self._normalized: tuple[NormalizedText, ...] | None = None
        self._results: dict[str, tuple[tuple[Finding, ...], ...]] = {}

    @property
    def texts(self) -> tuple[str, ...]:
        return self._sources

    @property
    def normalized(self) -> tuple[NormalizedText, ...]:
        if self._normalized is None:
            self._normalized = tuple(normalize(text) for text in self._sources)
        return self._normalized

    def findings(self, name: str, detector: Detector) -> tuple[tuple[Finding, ...], ...]:
        """Per text, the findings of `detector` (spans in the original text); memoised."""
        cached = self._results.get(name)
        if cached is None:
            cached = self._results[name] = tuple(
                tuple(_to_original(norm, f) for f in detector(norm.text))
                for norm in self.normalized)
        return cached


def _to_original(norm: NormalizedText, finding: Finding) -> Finding:
    if norm.offsets is None or finding.start is None or finding.end is None:
        return finding
    start, end = norm.original_span(finding.start, finding.end)
    return replace(finding, start=start, end=end)


def outermost(findings: list[Finding]) -> list[Finding]:
    """Findings not nested in a longer one found at the same place (`confidential` inside
    `strictly confidential`, a hostname inside a connection string), by position."""
    ordered = sorted(findings, key=lambda f: (f.start or 0, -(f.end or 0)))
    kept: list[Finding] = []
    for finding in ordered:
        if kept and (finding.end or 0) <= (kept[-1].end or 0):
            continue
        kept.append(finding)
    return kept
