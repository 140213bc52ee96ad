"""Binary scores: a rate with nothing to count is null, never a misleading 0."""

from __future__ import annotations

from tappass.detect.evaluate import BinaryScore


def score(*pairs: tuple[bool, bool]) -> dict[str, object]:
    binary = BinaryScore()
    for label, predicted in pairs:
        binary.add(label, predicted)
    return binary.report()


def test_benign_rows_only_have_a_false_positive_rate_and_no_recall() -> None:
    report = score((False, False), (False, True))
    assert report["false_positive_rate"] == 0.5
    assert report["recall"] is None and report["f1"] is None
    assert report["precision"] == 0.0


def test_attacks_only_have_recall_and_no_false_positive_rate() -> None:
    report = score((True, False), (True, True))
    assert (report["recall"], report["precision"], report["f1"]) == (0.5, 1.0, 0.6667)
    assert report["false_positive_rate"] is None


def test_nothing_found_is_an_f1_of_zero_with_no_precision() -> None:
    report = score((True, False))
    assert (report["precision"], report["recall"], report["f1"]) == (None, 0.0, 0.0)
