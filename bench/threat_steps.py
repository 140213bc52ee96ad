"""Microbenchmark of the threat steps of issue 16 (shell bleed, privilege escalation, code
execution, multimodal content, inspect_images, check_exfiltration, artifact_verification).

In process, no servers, default options. Each sample builds a fresh request context, so
the shared scan (and the answer's scan) is built inside the timed window as per request:

- `request`: the six steps that run before the call, on the benchmark's 2 KB chat request;
- `answer`: check_exfiltration and artifact_verification after the call, on an answer
  holding the same 2 KB of prose;
- `total`: both, as one request through a `regulated` pipeline would pay.

    .venv/bin/python bench/threat_steps.py [--runs 5000]

JSON on stdout (microseconds). Figures are for comparing runs on one machine.
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

from steps import build, context  # noqa: E402
from workload import chat_body  # noqa: E402

BEFORE = ["detect_shell_bleed", "detect_privilege_escalation", "detect_code_execution",
          "detect_multimodal_content", "inspect_images", "check_exfiltration"]
AFTER = ["check_exfiltration", "artifact_verification"]


def answer_for(body: dict[str, Any]) -> dict[str, Any]:
    return {"id": "bench", "object": "chat.completion", "choices": [{
        "index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": body["messages"][-1]["content"]}}]}


async def sample(before: list[Any], after: list[Any], body: dict[str, Any],
                 answer: dict[str, Any]) -> tuple[float, float]:
    ctx = context(body, {"pii": "block"})
    start = time.perf_counter()
    for step in before:
        await step.run(ctx)
    middle = time.perf_counter()
    ctx.response = copy.deepcopy(answer)
    restart = time.perf_counter()
    for step in after:
        await step.run(ctx)
    end = time.perf_counter()
    return (middle - start) * 1e6, (end - restart) * 1e6


async def measure(runs: int) -> dict[str, Any]:
    before, after = build(BEFORE), build(AFTER)
    body = chat_body()
    answer = answer_for(body)
    for _ in range(runs // 10):
        await sample(before, after, body, answer)
    request, answer_side = [], []
    for _ in range(runs):
        a, b = await sample(before, after, body, answer)
        request.append(a)
        answer_side.append(b)
    total = [a + b for a, b in zip(request, answer_side, strict=True)]

    def cut(values: list[float]) -> dict[str, float]:
        return {"p50_us": round(statistics.median(values), 1),
                "p90_us": round(statistics.quantiles(values, n=10)[8], 1)}
    return {"runs": runs, "request": cut(request), "answer": cut(answer_side),
            "total": cut(total)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.runs)), indent=2))


if __name__ == "__main__":
    main()
