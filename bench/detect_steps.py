"""CPU time each detection step adds to one request carrying the benchmark's 2 KB prompt.

    .venv/bin/python bench/detect_steps.py [--samples 3000] [--no-memo]

In process, no servers. Each sample builds a fresh request context (so the shared scan is
built inside the timed window, as it is per request) and runs, in preset order, the
threat-detection steps (detect_unicode_tricks, detect_prompt_injection) and the
data-protection steps (detect_pii, detect_secrets, detect_business_data,
detect_infrastructure_data) with default options; the shared scan's cost falls to the
first step that reads it. The same step objects serve every sample, as one pipeline's
steps serve every request, so the prompt's texts are remembered after the first sample
(the same system prompt every time is what agents send); `--no-memo` forgets them before
each sample: the cost of texts never seen before. Figures are p50 of this thread's CPU
time, in µs, for comparing runs on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# --src DIR: import tappass from another source tree (e.g. an export of main), to compare
_SRC = sys.argv[sys.argv.index("--src") + 1] if "--src" in sys.argv[:-1] else str(ROOT / "src")
sys.path.insert(0, _SRC)
sys.path.insert(0, str(ROOT / "bench"))

from workload import chat_body  # noqa: E402

try:
    from tappass.detect.memo import Memo
except ImportError:   # a version from before steps remembered texts
    Memo = None  # type: ignore[assignment,misc]
from tappass.pipeline.context import Context  # noqa: E402
from tappass.pipeline.options import (  # noqa: E402
    BusinessDataOptions,
    Detector,
    InfrastructureOptions,
    InjectionOptions,
    PiiOptions,
    SecretsOptions,
)
from tappass.pipeline.steps.detect_business_data import DetectBusinessData  # noqa: E402
from tappass.pipeline.steps.detect_infrastructure_data import (  # noqa: E402
    DetectInfrastructureData,
)
from tappass.pipeline.steps.detect_pii import DetectPii  # noqa: E402
from tappass.pipeline.steps.detect_prompt_injection import DetectPromptInjection  # noqa: E402
from tappass.pipeline.steps.detect_secrets import DetectSecrets  # noqa: E402
from tappass.pipeline.steps.detect_unicode_tricks import DetectUnicodeTricks  # noqa: E402

THREAT = ("detect_unicode_tricks", "detect_prompt_injection")
DATA = ("detect_pii", "detect_secrets", "detect_business_data", "detect_infrastructure_data")


def _steps() -> list[Any]:
    return [DetectUnicodeTricks(Detector(), None), DetectPromptInjection(InjectionOptions(), None),
            DetectPii(PiiOptions(), None), DetectSecrets(SecretsOptions(), None),
            DetectBusinessData(BusinessDataOptions(), None),
            DetectInfrastructureData(InfrastructureOptions(), None)]


def _context(body: dict[str, Any]) -> Context:
    return Context(audit_id="ae_bench", services=None, agent=None,  # type: ignore[arg-type]
                   pipeline=None, flags={}, session_id=None,  # type: ignore[arg-type]
                   body={**body, "messages": [dict(m) for m in body["messages"]]})


def _memos(step: Any) -> list[Any]:
    if Memo is None:
        return []
    return [value for name in dir(step) if isinstance(value := getattr(step, name), Memo)]


async def _measure(samples: int, memo: bool, order: tuple[str, ...]) -> dict[str, list[float]]:
    body = chat_body()
    steps = {s.id: s for s in _steps()}
    memos = [m for s in steps.values() for m in _memos(s)]
    assert memos or Memo is None, "the steps no longer remember texts: update this benchmark"
    times: dict[str, list[float]] = {name: [] for name in order}
    for i in range(samples + 200):      # the first 200 warm up and are not kept
        if not memo:
            for m in memos:
                m.clear()
        ctx = _context(body)
        for name in order:
            start = time.thread_time_ns()
            decision = await steps[name].run(ctx)
            spent = time.thread_time_ns() - start
            assert decision is None, f"{name} found something in the benchmark prose"
            if i >= 200:
                times[name].append(spent / 1000)
    return times


def _report(times: dict[str, list[float]], names: tuple[str, ...]) -> dict[str, Any]:
    totals = [sum(parts) for parts in zip(*(times[n] for n in names), strict=True)]
    return {"p50_us": round(statistics.median(totals), 1),
            "per_step_p50_us": {n: round(statistics.median(times[n]), 1) for n in names}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--src", default=_SRC, help="source tree to import tappass from")
    parser.add_argument("--no-memo", action="store_true",
                        help="forget remembered texts before each sample (texts never seen)")
    args = parser.parse_args()
    gc.disable()
    # each group alone (its own shared scan), then all six together in preset order
    threat = asyncio.run(_measure(args.samples, not args.no_memo, THREAT))
    data = asyncio.run(_measure(args.samples, not args.no_memo, DATA))
    both = asyncio.run(_measure(args.samples, not args.no_memo, THREAT + DATA))
    print(json.dumps({"src": args.src, "samples": args.samples,
                      "memo": None if Memo is None else not args.no_memo,
                      "threat_steps": _report(threat, THREAT),
                      "data_steps": _report(data, DATA),
                      "all_six": _report(both, THREAT + DATA)}, indent=2))


if __name__ == "__main__":
    main()
