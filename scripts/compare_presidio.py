"""TapPass's detect_pii next to Presidio on the same labelled file, scored the same way.

    /tmp/presidio/bin/python scripts/presidio_predict.py ../shared/eval/pii/dev.jsonl \\
        > /tmp/presidio.jsonl                       # see that script for the set-up
    .venv/bin/python scripts/compare_presidio.py ../shared/eval/pii/dev.jsonl /tmp/presidio.jsonl

Both sides are scored by `tappass.detect.evaluate` (the scorer of `tappass eval`): the
dataset's types mapped to the product's, a gold span found when a prediction of the same
class overlaps it (or matches it exactly). Presidio's entity names are mapped to the
product's the same way. Prints one table per type, overall and over the pattern types
(email, phone, card, IBAN, SSN, IP), and each side's p50 / p95 time per text.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tappass.cli.eval_cmd import PATTERN_TYPES  # noqa: E402
from tappass.cli.scan import build_runner  # noqa: E402
from tappass.detect.evaluate import SPAN_MAPS, Span, SpanScore  # noqa: E402

PRESIDIO_TYPES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE",
                  "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN", "US_SSN": "US_SSN",
                  "IP_ADDRESS": "IP_ADDRESS", "PERSON": "PERSON", "LOCATION": "LOCATION"}


def read_jsonl(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def gold(row: dict[str, Any]) -> list[Span]:
    return [Span(int(s["start"]), int(s["end"]), str(s["type"])) for s in row["spans"]]


async def tappass_side(rows: list[dict[str, Any]]) -> tuple[SpanScore, list[float]]:
    runner = build_runner("detect_pii", None, "")
    score, seconds = SpanScore(SPAN_MAPS["presidio"]), []
    await runner.run("warm up John Smith")
    for row in rows:
        started = time.perf_counter()
        outcome = await runner.run(row["text"])
        seconds.append(time.perf_counter() - started)
        score.add(gold(row), [Span(h.start or 0, h.end or 0, h.type) for h in outcome.hits])
    return score, seconds


def presidio_side(rows: list[dict[str, Any]],
                  predictions: list[dict[str, Any]]) -> tuple[SpanScore, list[float]]:
    score, seconds = SpanScore(SPAN_MAPS["presidio"]), []
    for row, predicted in zip(rows, predictions, strict=True):
        seconds.append(predicted["seconds"])
        score.add(gold(row), [Span(s["start"], s["end"], PRESIDIO_TYPES.get(s["type"], s["type"]))
                              for s in predicted["spans"]])
    return score, seconds


def table(name: str, score: SpanScore, seconds: list[float]) -> list[str]:
    report = score.report(PATTERN_TYPES)
    lines = []
    for kind, counts in [*report["per_type"].items(), ("pattern types", report["pattern_types"]),
                         ("overall", report["overall"])]:
        o, e = counts["overlap"], counts["exact"]
        lines.append(f"| {name} | {kind} | {counts['gold']} | {o['precision']:.3f} | "
                     f"{o['recall']:.3f} | {o['f1']:.3f} | {e['f1']:.3f} |")
    ms = sorted(s * 1000 for s in seconds)
    lines.append(f"| {name} | time per text | p50 {statistics.median(ms):.2f} ms | "
                 f"p95 {ms[int(len(ms) * 0.95)]:.2f} ms | | | |")
    return lines


def main(data: str, predictions_path: str) -> None:
    rows = read_jsonl(data)
    predictions = read_jsonl(predictions_path)
    meta = predictions.pop() if "model" in predictions[-1] else {}
    if len(predictions) != len(rows):
        sys.exit(f"{predictions_path} has {len(predictions)} predictions for {len(rows)} rows")
    ours, our_seconds = asyncio.run(tappass_side(rows))
    theirs, their_seconds = presidio_side(rows, predictions)
    print(f"{len(rows)} rows of {data}; Presidio {meta.get('presidio', '?')} with "
          f"{meta.get('model', '?')}\n")
    print("| detector | type | gold | overlap P | overlap R | overlap F1 | exact F1 |")
    print("|---|---|---|---|---|---|---|")
    for line in table("TapPass detect_pii", ours, our_seconds) + table(
            "Presidio", theirs, their_seconds):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
