"""Microbenchmark of the data-protection steps.

Three figures, in process, no servers:

- the p50 (and p99) that every data-protection and classification step of the `regulated`
  preset adds to one request with the 2 KB prompt and the benchmark upstream's answer,
  before and after the call, with the preset's options and `pii=tokenize` (so
  pii_tokenization and pii_restore run): detect_pii, detect_secrets, detect_business_data,
  detect_infrastructure_data, taint_tracking, classify_data, pii_tokenization; then
  detect_pii, detect_secrets, taint_tracking, pii_restore. A fresh context per sample
  (the shared scans are built inside the timed window), the in-process key-value store;
- the p50 (and p99) the three steps add to one request carrying the benchmark's 2 KB
  prompt (`bench/workload.py`): each sample builds a fresh request context (so the shared
  scan is built inside the timed window, as it is per request) and runs the three steps
  with the `standard` preset's default options;
- rows per second of the secrets detector over a JSONL file of `{"text": ...}` rows (default
  `../shared/eval/pii/dev.jsonl`), one thread, pinned to one core where the OS allows.

    .venv/bin/python bench/data_steps.py [--samples 5000] [--jsonl PATH] [--cpu N]

JSON on stdout. Figures are for comparing runs on one machine, not for unit tests.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from upstream import ANSWER  # noqa: E402
from workload import chat_body  # noqa: E402

from tappass.detect.secrets import detect_secrets  # noqa: E402
from tappass.kv.memory import MemoryKV  # noqa: E402
from tappass.pipeline.context import Context  # noqa: E402
from tappass.pipeline.definition import Entry, Pipeline, load_preset  # noqa: E402
from tappass.pipeline.options import (  # noqa: E402
    BusinessDataOptions,
    InfrastructureOptions,
    SecretsOptions,
    validate_options,  # noqa: E402
)
from tappass.pipeline.registry import get_spec, load_class  # noqa: E402
from tappass.pipeline.step import Category, Phase  # noqa: E402
from tappass.pipeline.steps.detect_business_data import DetectBusinessData  # noqa: E402
from tappass.pipeline.steps.detect_infrastructure_data import (  # noqa: E402
    DetectInfrastructureData,
)
from tappass.pipeline.steps.detect_secrets import DetectSecrets  # noqa: E402
from tappass.settings import load_settings  # noqa: E402

DEV_SET = ROOT.parent / "shared" / "eval" / "pii" / "dev.jsonl"


def _context(body: dict[str, Any]) -> Context:
    return Context(audit_id="ae_bench", services=None, agent=None,  # type: ignore[arg-type]
                   pipeline=None, flags={}, session_id=None,  # type: ignore[arg-type]
                   body={**body, "messages": [dict(m) for m in body["messages"]]})


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _step_latency(samples: int) -> dict[str, Any]:
    steps = [DetectSecrets(SecretsOptions(), None), DetectBusinessData(BusinessDataOptions(), None),
             DetectInfrastructureData(InfrastructureOptions(), None)]
    body = chat_body()
    per_step: dict[str, list[float]] = {s.id: [] for s in steps}
    totals: list[float] = []
    for i in range(samples + 200):        # the first 200 warm caches and are not kept
        ctx = _context(body)
        start = time.perf_counter()
        marks = []
        for step in steps:
            decision = await step.run(ctx)
            assert decision is None, f"{step.id} found something in the benchmark prose"
            marks.append(time.perf_counter())
        if i >= 200:
            totals.append((marks[-1] - start) * 1000)
            previous = start
            for step, mark in zip(steps, marks, strict=True):
                per_step[step.id].append((mark - previous) * 1000)
                previous = mark
    return {"prompt_bytes": len(json.dumps(body, separators=(",", ":"))), "samples": samples,
            "p50_ms": round(statistics.median(totals), 4),
            "p99_ms": round(_percentile(totals, 0.99), 4),
            "per_step_p50_ms": {k: round(statistics.median(v), 4) for k, v in per_step.items()}}


def _data_pipeline(services: Any) -> Pipeline:
    """The regulated preset's data-protection and classification steps, in its order."""
    definition = load_preset("regulated")
    wanted = {Category.DATA_PROTECTION, Category.CLASSIFY_AND_PREPARE}
    skip = {"validate_input", "inspect_images", "adaptive_thresholds"}  # not data steps
    phases: dict[Phase, tuple[Entry, ...]] = {}
    for phase in Phase:
        entries = []
        for config in definition.phases[phase]:
            spec = get_spec(config.id)
            if spec.category in wanted and spec.available and spec.id not in skip:
                options = validate_options(spec.id, config.options, spec.id)
                entries.append(Entry(spec, phase, load_class(spec.id)(options, services)))
        phases[phase] = tuple(entries)
    return Pipeline(definition, phases)


PERSONAL = " Contact John Smith at john.smith@example.com or +44 20 7946 0958."


def _with_personal_data(body: dict[str, Any]) -> dict[str, Any]:
    """The same 2 KB request with three PII values in place of its last characters."""
    messages = [dict(m) for m in body["messages"]]
    text = messages[-1]["content"]
    messages[-1]["content"] = text[:len(text) - len(PERSONAL)] + PERSONAL
    return {**body, "messages": messages}


async def _all_data_steps(samples: int, home: Path, personal: bool) -> dict[str, Any]:
    services = SimpleNamespace(settings=load_settings(storage="memory", home=home),
                               kv=MemoryKV())
    pipeline = _data_pipeline(services)
    agent = SimpleNamespace(name="bench")
    body = _with_personal_data(chat_body()) if personal else chat_body()
    answer = {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": ANSWER}, "finish_reason": "stop"}]}
    totals: list[float] = []
    per_step: dict[str, list[float]] = {}
    for i in range(samples + 200):
        ctx = Context(audit_id="ae_bench", services=services, agent=agent,  # type: ignore[arg-type]
                      pipeline=pipeline, flags={"pii": "tokenize"}, session_id="ses_bench",
                      body={**body, "messages": [dict(m) for m in body["messages"]]})
        start = mark = time.perf_counter()
        times = []
        for phase in (Phase.BEFORE, Phase.AFTER):
            if phase is Phase.AFTER:
                ctx.response = answer
            for entry in pipeline.phases[phase]:
                decision = await entry.step.run(ctx)
                assert decision is None or not decision.blocks, (entry.spec.id, decision)
                now = time.perf_counter()
                times.append((f"{entry.spec.id}.{phase.value}", (now - mark) * 1000))
                mark = now
        if i >= 200:
            totals.append((mark - start) * 1000)
            for name, ms in times:
                per_step.setdefault(name, []).append(ms)
    return {"steps": {phase.value: [e.spec.id for e in pipeline.phases[phase]]
                      for phase in (Phase.BEFORE, Phase.AFTER)},
            "flags": {"pii": "tokenize"}, "samples": samples,
            "prompt": "2 KB with 3 PII values (tokenized and kept)" if personal else "2 KB",
            "p50_ms": round(statistics.median(totals), 4),
            "p99_ms": round(_percentile(totals, 0.99), 4),
            "per_step_p50_ms": {k: round(statistics.median(v), 4) for k, v in per_step.items()}}


def _throughput(path: Path, repeat: int) -> dict[str, Any]:
    texts = [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    for text in texts[:50]:
        detect_secrets(text)
    start = time.perf_counter()
    cpu = time.process_time()
    findings = 0
    for _ in range(repeat):
        for text in texts:
            findings += len(detect_secrets(text))
    elapsed = time.perf_counter() - start
    rows = len(texts) * repeat
    return {"file": str(path), "rows": rows, "seconds": round(elapsed, 3),
            "rows_per_s": round(rows / elapsed), "cpu_rows_per_s":
            round(rows / max(time.process_time() - cpu, 1e-9)),
            "findings_per_pass": findings // repeat,
            "mean_chars": round(sum(map(len, texts)) / len(texts))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--jsonl", type=Path, default=DEV_SET,
                        help="JSONL with a 'text' field per row (default: the PII dev set)")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the JSONL file")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core (Linux)")
    args = parser.parse_args()
    if not args.jsonl.exists():
        parser.error(f"{args.jsonl} not found; pass --jsonl with a file of {{\"text\": ...}} rows")
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    gc.disable()
    with tempfile.TemporaryDirectory() as home:
        every = asyncio.run(_all_data_steps(args.samples, Path(home), False))
        personal = asyncio.run(_all_data_steps(args.samples, Path(home), True))
    report = {"all_data_protection_steps_on_2kb_prompt": every,
              "all_data_protection_steps_with_pii": personal,
              "steps_on_2kb_prompt": asyncio.run(_step_latency(args.samples)),
              "secrets_detector_throughput": _throughput(args.jsonl, args.repeat),
              "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
