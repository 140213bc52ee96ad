"""Microbenchmark: what SIEM forwarding adds to one audit write (the outbox row).

One SQLite store in a temp directory takes single-event audit batches (what one request
at concurrency 1 writes), alternately without forwarding and with a SIEM destination
whose filter forwards every event: the event then commits in a transaction together with
its outbox row. No sender runs (only the write path is timed). p50 and p90 per write are
printed (µs), with the difference. Usage: `.venv/bin/python bench/outbox.py [--n 3000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tappass.audit.events import utc_now_iso
from tappass.forward.anomaly import AnomalyDetector
from tappass.forward.router import Router
from tappass.forward.siem_config import SiemConfig
from tappass.storage.sqlite import SqliteStore


def event(n: int) -> dict[str, Any]:
    return {"id": f"ae_bench_{n}", "timestamp": utc_now_iso(), "agent": "bench",
            "agent_id": "ag_bench", "status": "allowed", "blocked": False, "cost_usd": 0.0,
            "pipeline": "starter", "mode": "enforce",
            "steps": [{"step": s, "phase": "before", "verdict": "allow", "duration_ms": 0.01}
                      for s in ("validate_input", "detect_pii", "detect_secrets")]}


async def run(n: int) -> dict[str, list[float]]:
    siem = SiemConfig(True, "webhook", "http://127.0.0.1:9/x", "json", "all")
    router = Router(siem, [], AnomalyDetector())
    times: dict[str, list[float]] = {"off": [], "siem": []}
    with tempfile.TemporaryDirectory(prefix="tappass-outbox-bench-") as tmp:
        store = SqliteStore(Path(tmp) / "tappass.db")
        await store.open()
        for i in range(n * 2):
            mode = "siem" if i % 2 else "off"
            store.route_outbox = router if mode == "siem" else None
            start = time.perf_counter()
            await store.append_audit([event(i)])
            times[mode].append((time.perf_counter() - start) * 1e6)
        await store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="writes of each kind")
    times = asyncio.run(run(parser.parse_args().n))
    p50 = {k: statistics.median(v) for k, v in times.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] for k, v in times.items()}
    for kind in ("off", "siem"):
        print(f"{kind:>5}: p50 {p50[kind]:8.1f} µs   p90 {p90[kind]:8.1f} µs")
    print(f"added by the outbox row: p50 {p50['siem'] - p50['off']:+.1f} µs, "
          f"p90 {p90['siem'] - p90['off']:+.1f} µs")


if __name__ == "__main__":
    main()
