"""The once-per-request normalisation and scan."""

from __future__ import annotations

import re

import pytest

from tappass.detect.normalize import normalize
from tappass.detect.scan import Scan
from tappass.pipeline.step import Finding


@pytest.mark.parametrize("original, normalized", [
    ("plain ascii", "plain ascii"),
    ("zero\u200bwidth\u2060joined", "zerowidthjoined"),
    ("ｆｕｌｌ ｗｉｄｔｈ", "full width"),
    ("Cyrillic раураl", "Cyrillic paypal"),
    ("tag\U000E0041\U000E0042 chars", "tag chars"),
    ("soft\u00adhyphen", "softhyphen"),
])
def test_normalisation_table(original: str, normalized: str) -> None:
    assert normalize(original).text == normalized


@pytest.mark.parametrize("original, needle", [
    ("mail: jо\u200bhn@ex\uff41mple.com now", "john@example.com"),
    ("plain john@example.com", "john@example.com"),
    ("ﬁle x@y.io", "x@y.io"),
])
def test_spans_map_back_to_the_original(original: str, needle: str) -> None:
    norm = normalize(original)
    start = norm.text.index(needle)
    a, b = norm.original_span(start, start + len(needle))
    assert normalize(original[a:b]).text == needle


def emails(text: str) -> list[Finding]:
    return [Finding("EMAIL", m.start(), m.end()) for m in re.finditer(r"\S+@\S+\.\w+", text)]


def test_scan_runs_each_detector_once_per_text_and_maps_spans() -> None:
    calls: list[str] = []

    def counting(text: str) -> list[Finding]:
        calls.append(text)
        return emails(text)

    scan = Scan(["a\u200b@b.io x", "none here"])
    first = scan.findings("email", counting)
    again = scan.findings("email", counting)
    assert first is again and len(calls) == 2
    (found,), () = first
    assert (found.start, found.end) == (0, 7)  # includes the invisible character


def _per_character(text: str) -> tuple[str, tuple[int, ...]]:
    """The definition normalisation implements: every character on its own."""
    import unicodedata

    from tappass.detect.normalize import HOMOGLYPHS, INVISIBLE
    out, offsets = [], []
    for index, char in enumerate(text):
        if char in INVISIBLE or 0xE0000 <= ord(char) <= 0xE007F:
            continue
        folded = unicodedata.normalize("NFKC", char).translate(HOMOGLYPHS)
        out.append(folded)
        offsets.extend([index] * len(folded))
    return "".join(out), tuple(offsets)


@pytest.mark.parametrize("text", [
    "it\u2019s a \u201cquoted\u201d caf\u00e9 \u2014 na\u00efve",   # NFKC already: no copy
    "e\u0301 combining, \u212b angstrom, \u0958 excluded, \ud55c\uae00",
    "x\u200by \uff41 \u0440\u0430\u0443 \U000E0041 \U0001d400 \u2460 \ufb01",
    "", "\u0301", "plain",
])
def test_fast_paths_agree_with_the_per_character_definition(text: str) -> None:
    norm = normalize(text)
    expected_text, expected_offsets = _per_character(text)
    assert norm.text == expected_text
    if norm.offsets is None:
        assert norm.text == text and expected_offsets == tuple(range(len(text)))
    else:
        assert norm.offsets == expected_offsets
