"""Latency of detect_prompt_injection on the benchmark's 2 KB request, and detector speed.

    .venv/bin/python bench/injection_step.py [--runs 2000] [--data PATH]

1. The step's `run()` on bench/workload.py's 2,000-byte request (system + user message),
   a fresh shared scan each time (so normalisation is included): p50 / p95 in ms, with
   the step's memory of texts it has seen cleared before each run (texts never seen) and
   kept (the same prompt again, as an agent sends its system prompt).
2. The detector over every row of the injection dev set on one core: rows per second of
   CPU time, with and without the shared normalisation (paid once for all steps).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from workload import chat_body  # noqa: E402

from tappass.detect.injection import load_detector  # noqa: E402
from tappass.detect.normalize import normalize  # noqa: E402
from tappass.detect.scan import Scan  # noqa: E402
from tappass.pipeline.options import InjectionOptions  # noqa: E402
from tappass.pipeline.steps.detect_prompt_injection import DetectPromptInjection  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "injection" / "dev.jsonl"


class _Ctx:
    """The two things the step reads from a request context."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self._scan = Scan([m["content"] for m in body["messages"]])

    def request_scan(self) -> Scan:
        return self._scan


def step_latency(runs: int, *, memo: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """(p50, p95) in ms of wall time and of this thread's CPU time: on a shared, busy
    machine the CPU time is the step's own cost, the wall time adds waiting for a core."""
    step = DetectPromptInjection(InjectionOptions(), None)
    body = chat_body()

    async def measure() -> tuple[list[float], list[float]]:
        wall, cpu = [], []
        for _ in range(runs):
            if not memo:
                step._detector.clear()
            ctx = _Ctx(body)
            start, start_cpu = time.perf_counter(), time.thread_time()
            decision = await step.run(ctx)  # type: ignore[arg-type]
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
            assert decision is None, "the benchmark prose must not be flagged"
        return wall, cpu

    wall, cpu = asyncio.run(measure())
    return _p50_p95(wall), _p50_p95(cpu)


def _p50_p95(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def rows_per_second(path: Path) -> tuple[float, float, int]:
    with path.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle if line.strip()]
    detector = load_detector()
    start = time.thread_time()
    normalized = [normalize(t).text for t in texts]
    norm_s = time.thread_time() - start
    start = time.thread_time()
    for text in normalized:
        detector(text)
    detect_s = time.thread_time() - start
    return len(texts) / detect_s, len(texts) / (detect_s + norm_s), len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    load_detector()("warm up")
    for memo, label in ((False, "texts never seen"), (True, "texts seen before")):
        (p50, p95), (cpu50, cpu95) = step_latency(args.runs, memo=memo)
        print(f"step on the 2 KB request ({args.runs} runs, {label}): wall p50 {p50:.3f} ms, "
              f"p95 {p95:.3f} ms; CPU p50 {cpu50:.3f} ms, p95 {cpu95:.3f} ms")
    if args.data.exists():
        detect, total, n = rows_per_second(args.data)
        print(f"detector over {n} rows: {detect:,.0f} rows/s of CPU time "
              f"({total:,.0f} rows/s including normalisation), one core")


if __name__ == "__main__":
    main()
