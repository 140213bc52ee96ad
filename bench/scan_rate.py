"""Rows per second of `tappass scan --steps ...` over a JSONL file, in process, one core.

    .venv/bin/python bench/scan_rate.py --steps detect_prompt_injection \\
        [--jsonl ../shared/eval/injection/dev.jsonl] [--passes 3] [--cpu 0] [--src DIR]

What `tappass scan` does per row (the offline runner: a one-message request through the
chosen steps, findings collected), without the command's start-up (imports, model load),
which is reported apart. Each pass builds a new runner, so nothing is remembered between
passes; within a pass, a row repeated in the file is remembered as the CLI would remember
it (`--no-memo` forgets every row: the cost of texts never seen). Reports the best pass
(the least disturbed by other load on the machine) and the median, as rows per second of
this thread's CPU time and of wall time. `--src` imports tappass from another source tree
(e.g. an export of main) to compare two versions in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "eval" / "injection" / "dev.jsonl"


def _memos(runner: Any) -> list[Any]:
    out = []
    for _, step in runner.steps:
        for name in dir(step):
            value = getattr(step, name)
            if hasattr(value, "clear") and type(value).__name__ == "Memo":
                out.append(value)
    return out


async def _pass(runner_class: Any, steps: list[str], texts: list[str],
                memo: bool) -> tuple[float, float]:
    runner = runner_class(steps)
    memos = [] if memo else _memos(runner)
    await runner.run("warm up")
    cpu, wall = time.thread_time(), time.perf_counter()
    for text in texts:
        for m in memos:
            m.clear()
        await runner.run(text)
    return time.thread_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", required=True, help="comma-separated step ids")
    parser.add_argument("--jsonl", type=Path, default=DEFAULT)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core (Linux)")
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="source tree to import tappass from")
    parser.add_argument("--no-memo", action="store_true", help="forget every row once scanned")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    sys.path.insert(0, str(args.src.resolve()))
    started = time.process_time()
    from tappass.pipeline.offline import OfflineRunner, parse_steps
    steps = parse_steps(args.steps)
    asyncio.run(OfflineRunner(steps).run("load the detectors"))
    startup = time.process_time() - started
    texts = [json.loads(line)["text"] for line in args.jsonl.read_text("utf-8").split("\n")
             if line.strip()]
    results = [asyncio.run(_pass(OfflineRunner, steps, texts, not args.no_memo))
               for _ in range(args.passes)]
    cpu = [len(texts) / c for c, _ in results]
    wall = [len(texts) / w for _, w in results]
    print(json.dumps({
        "src": str(args.src), "steps": steps, "file": str(args.jsonl), "rows": len(texts),
        "memo": not args.no_memo, "passes": args.passes,
        "startup_cpu_s": round(startup, 3),
        "cpu_rows_per_s": {"best": round(max(cpu)), "median": round(statistics.median(cpu))},
        "wall_rows_per_s": {"best": round(max(wall)), "median": round(statistics.median(wall))},
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}))


if __name__ == "__main__":
    main()
