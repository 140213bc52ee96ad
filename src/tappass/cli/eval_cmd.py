"""`tappass eval`: precision, recall and F1 of detection steps on labelled JSONL, as JSON.

Rows with `spans` ([{"start", "end", "type"}]) are scored per entity type, exact and
overlapping spans, after mapping the dataset's type names to the product's (`--map`).
Rows with `label` (1 = should be caught) are scored as a binary decision: a row is
predicted positive when a step blocks it or reports a finding. Rows with a `source` are
also reported per source. No server is needed.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import IO, Any

import click
import orjson

from tappass.cli.scan import build_runner, progress, read_rows
from tappass.detect.evaluate import SPAN_MAPS, BinaryScore, Span, SpanScore
from tappass.pipeline.offline import OfflineRunner

PATTERN_TYPES = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS")


@click.command("eval")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--steps", help="comma-separated step ids (default: detect_pii)")
@click.option("--preset", help="run the preset's detection steps instead")
@click.option("--flags", default="", help="flags as in X-TapPass-Flags")
@click.option("--map", "mapping", type=click.Choice(sorted(SPAN_MAPS)), default="presidio",
              show_default=True, help="dataset span types -> product types")
def eval_command(source: IO[str], steps: str | None, preset: str | None, flags: str,
                 mapping: str) -> None:
    """Score detection steps on labelled JSONL SOURCE; print the figures as JSON."""
    runner = build_runner(steps if steps or preset else "detect_pii", preset, flags)
    report = asyncio.run(evaluate(runner, source, SPAN_MAPS[mapping]))
    click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


async def evaluate(runner: OfflineRunner, source: IO[str],
                   mapping: dict[str, str]) -> dict[str, Any]:
    spans: dict[str, SpanScore] = defaultdict(lambda: SpanScore(mapping))
    binary: dict[str, BinaryScore] = defaultdict(BinaryScore)
    rows = 0
    bar = progress(None)
    started = time.perf_counter()
    try:
        for row in read_rows(source, getattr(source, "name", "<stdin>")):
            rows += 1
            outcome = await runner.run(row["text"])
            where = str(row.get("source") or "")
            if isinstance(row.get("spans"), list):
                gold = [Span(int(g["start"]), int(g["end"]), str(g["type"])) for g in row["spans"]]
                predicted = [Span(h.start or 0, h.end or 0, h.type) for h in outcome.hits]
                for key in {"all", where} - {""}:
                    spans[key].add(gold, predicted)
            if "label" in row:
                caught = outcome.blocked or bool(outcome.hits)
                for key in {"all", where} - {""}:
                    binary[key].add(bool(row["label"]), caught)
            if bar is not None:
                bar.advance(bar.task_ids[0])
    finally:
        if bar is not None:
            bar.stop()
    seconds = time.perf_counter() - started
    report: dict[str, Any] = {"file": getattr(source, "name", "<stdin>"), "rows": rows,
                              "steps": runner.step_ids, "seconds": round(seconds, 3),
                              "rows_per_second": round(rows / seconds, 1) if seconds else None}
    if spans:
        report["spans"] = {key: score.report(PATTERN_TYPES) for key, score in spans.items()}
    if binary:
        report["binary"] = {key: score.report() for key, score in binary.items()}
    return report
