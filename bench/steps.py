"""Microbenchmark: the time one governance step adds to a request, in process.

Runs a step's `run(ctx)` on the benchmark's 2 KB chat request (`workload.chat_body`, plain
prose, no personal data) and on the same request with personal data appended, each time
on a fresh context (so the shared scan is rebuilt, as for a real request), and prints the
p50 / p90 / p99 in microseconds as JSON: wall-clock time, and the thread's CPU time (what
the step costs when other processes share the machine). One core, no server, no network.

    .venv/bin/python bench/steps.py                      # detect_pii, 20,000 runs per case
    .venv/bin/python bench/steps.py --steps detect_pii,detect_secrets --runs 5000
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import chat_body  # noqa: E402

from tappass.pipeline.context import Context  # noqa: E402
from tappass.pipeline.options import validate_options  # noqa: E402
from tappass.pipeline.registry import get_spec, load_class  # noqa: E402

PII = (" Contact John Smith at john.smith@example.com or +44 20 7946 0958; card 4111 1111 "
       "1111 1111, IBAN GB82WEST12345698765432.")


def build(step_ids: list[str]) -> list[Any]:
    steps = []
    for name in step_ids:
        spec = get_spec(name)
        steps.append(load_class(spec.id)(validate_options(spec.id, {}, name), None))
    return steps


def context(body: dict[str, Any], flags: dict[str, str]) -> Context:
    return Context(audit_id="bench", services=None, agent=None,  # type: ignore[arg-type]
                   pipeline=None, flags=flags, session_id=None,  # type: ignore[arg-type]
                   body=copy.deepcopy(body))


async def measure(steps: list[Any], body: dict[str, Any], flags: dict[str, str],
                  runs: int) -> dict[str, float]:
    samples: list[float] = []
    cpu: list[float] = []
    for _ in range(runs // 10):  # warm-up
        ctx = context(body, flags)
        for step in steps:
            await step.run(ctx)
    for _ in range(runs):
        ctx = context(body, flags)
        start, start_cpu = time.perf_counter(), time.thread_time()
        for step in steps:
            await step.run(ctx)
        samples.append((time.perf_counter() - start) * 1e6)
        cpu.append((time.thread_time() - start_cpu) * 1e6)
    cuts = statistics.quantiles(samples, n=100)
    cpu_cuts = statistics.quantiles(cpu, n=100)
    return {"p50_us": round(statistics.median(samples), 1), "p90_us": round(cuts[89], 1),
            "p99_us": round(cuts[98], 1), "cpu_p50_us": round(statistics.median(cpu), 1),
            "cpu_p90_us": round(cpu_cuts[89], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="detect_pii")
    parser.add_argument("--runs", type=int, default=20_000)
    args = parser.parse_args()
    steps = build([s.strip() for s in args.steps.split(",") if s.strip()])
    clean = chat_body()
    with_pii = copy.deepcopy(clean)
    with_pii["messages"][-1]["content"] += PII
    size = len(json.dumps(clean))
    report = {"steps": args.steps, "request_bytes": size, "runs": args.runs, "cases": {
        "clean_2kb": asyncio.run(measure(steps, clean, {"pii": "block"}, args.runs)),
        "pii_2kb_mask": asyncio.run(measure(steps, with_pii, {"pii": "mask"}, args.runs)),
    }}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
