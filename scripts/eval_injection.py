"""Per-source quality and speed of detect_prompt_injection's detector.

    .venv/bin/python scripts/eval_injection.py            # the packaged model (in-sample on dev)
    .venv/bin/python scripts/eval_injection.py --cv       # 5-fold CV: honest held-out figures
    .venv/bin/python scripts/eval_injection.py --data other.jsonl

Rows are `{"text", "label", "source"}` (label 1 = attack). A row is flagged when the
detector's highest finding score reaches the sensitivity's threshold, exactly as the step
decides. `--cv` (needs scikit-learn) retrains the model on four folds and scores the fifth
with the full detector; folds are stratified by source and label and grouped so an
inserted BIPIA attack or a near-duplicate prompt never sits on both sides.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from injection_negatives import rows as negative_rows  # noqa: E402
from train_injection import (  # noqa: E402
    DEFAULT_DATA,
    fit,
    read_rows,
    row_features,
)

from tappass.detect.injection import InjectionDetector, load_detector, top_score  # noqa: E402
from tappass.detect.injection.decode import tag_payload  # noqa: E402
from tappass.detect.injection.detector import THRESHOLDS  # noqa: E402
from tappass.detect.injection.rules import build_rules  # noqa: E402
from tappass.detect.normalize import normalize  # noqa: E402

FOLDS = 5


def score(detector: Callable[[str], Any], text: str) -> float:
    """The score the step would see for this text: the normalised text, plus any payload
    hidden in tag characters of the original."""
    best = top_score(detector(normalize(text).text))
    hidden = tag_payload(text)
    if hidden is not None:
        best = max(best, top_score(detector(hidden)))
    return best


def group_of(row: dict[str, Any]) -> str:
    text = row["text"]
    if row["source"].startswith("bipia") and text.count("\n|") >= 2:
        stray = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("|")]
        if stray:
            return "bipia:" + " ".join(stray)[:60]
    return f"{row['source']}:{text[:30].lower()}"


def cross_validated(rows: Sequence[dict[str, Any]]) -> list[float]:
    from sklearn.model_selection import StratifiedGroupKFold

    feats = row_features(rows)
    labels = [int(r["label"]) for r in rows]
    extra = negative_rows()      # the project's own benign prompts: always trained on
    extra_feats, extra_labels = row_features(extra), [int(r["label"]) for r in extra]
    strata = [f"{r['source']}:{r['label']}" for r in rows]
    groups = [group_of(r) for r in rows]
    scores = [0.0] * len(rows)
    folds = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=0)
    rules = build_rules()
    for train, test in folds.split(rows, strata, groups):
        model = fit([feats[i] for i in train] + extra_feats,
                    [labels[i] for i in train] + extra_labels)
        detector = InjectionDetector(rules, model)
        for i in test:
            scores[i] = score(detector, rows[i]["text"])
    return scores


def table(rows: Sequence[dict[str, Any]], scores: Sequence[float]) -> str:
    by: dict[tuple[str, int], list[float]] = defaultdict(list)
    for row, value in zip(rows, scores, strict=True):
        by[(row["source"], int(row["label"]))].append(value)
    by[("ALL attacks", 1)] = [s for r, s in zip(rows, scores, strict=True) if r["label"] == 1]
    by[("ALL benign", 0)] = [s for r, s in zip(rows, scores, strict=True) if r["label"] == 0]
    head = f"{'source':<22}{'label':>6}{'rows':>6}" + "".join(
        f"{name + ' ' + str(th):>14}" for name, th in THRESHOLDS.items())
    lines = [head, "-" * len(head)]
    for (source, label), values in by.items():
        metric = "recall" if label else "FPR"
        cells = "".join(f"{sum(v >= th for v in values) / len(values):>14.3f}"
                        for th in THRESHOLDS.values())
        lines.append(f"{source:<22}{metric:>6}{len(values):>6}{cells}")
    return "\n".join(lines)


def sweep(rows: Sequence[dict[str, Any]], scores: Sequence[float]) -> str:
    """Recall and false-positive rates over a range of thresholds (to choose them)."""
    attack = [s for r, s in zip(rows, scores, strict=True) if r["label"] == 1]
    benign = [s for r, s in zip(rows, scores, strict=True) if r["label"] == 0]
    over = [s for r, s in zip(rows, scores, strict=True)
            if r["label"] == 0 and r["source"].startswith("notinject")]
    lines = [f"{'threshold':>10}{'recall':>9}{'FPR':>8}{'NotInject FPR':>15}"]
    for step in range(30, 95, 5):
        th = step / 100
        lines.append(f"{th:>10.2f}" + "".join(
            f"{sum(v >= th for v in values) / max(1, len(values)):>{width}.3f}"
            for values, width in ((attack, 9), (benign, 8), (over, 15))))
    return "\n".join(lines)


def write_misses(path: Path, rows: Sequence[dict[str, Any]], scores: Sequence[float]) -> None:
    threshold = THRESHOLDS["medium"]
    with path.open("w", encoding="utf-8") as out:
        for row, value in zip(rows, scores, strict=True):
            if (value >= threshold) != bool(row["label"]):
                out.write(json.dumps({**row, "score": round(value, 4)}, ensure_ascii=False))
                out.write("\n")


def throughput(rows: Sequence[dict[str, Any]]) -> float:
    detector = load_detector()
    detector("warm up")
    start = time.perf_counter()
    for row in rows:
        score(detector, row["text"])
    return len(rows) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cv", action="store_true", help="5-fold cross-validated figures")
    parser.add_argument("--misses", type=Path,
                        help="write the rows misclassified at medium sensitivity here")
    args = parser.parse_args()
    rows = read_rows(args.data)
    if args.cv:
        print(f"{FOLDS}-fold cross-validation (model retrained per fold) on {args.data}")
        scores = cross_validated(rows)
    else:
        print(f"packaged model on {args.data} (in-sample if this is the training file)")
        detector = load_detector()
        scores = [score(detector, r["text"]) for r in rows]
    print(table(rows, scores))
    print("\n" + sweep(rows, scores))
    if args.misses:
        write_misses(args.misses, rows, scores)
    print(f"\nthroughput: {throughput(rows):,.0f} rows/s on one core, wall clock, with "
          f"normalisation ({len(rows)} rows, packaged detector; bench/injection_step.py "
          "reports CPU time)")


if __name__ == "__main__":
    main()
