"""Microbenchmark: what the tamper-evident chain and the Prometheus counters add per event.

One starter-sized audit event (11 steps, 2 of them unavailable, ~2 KB of JSON) goes
through what the audit writer does around a commit: sealing it into the chain (canonical
JSON, two SHA-256, a dict) and observing it in the Prometheus metrics. Each is timed
alone, alternately in the same process, as p50 and p90 per event (µs). Checkpoint
signatures (one per 1,000 events by default) are timed apart, per signature.
Usage: `.venv/bin/python bench/audit_chain.py [--n 20000]` (set PROMETHEUS_MULTIPROC_DIR
to an empty directory to time the multiprocess mode of `tappass up`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tappass.audit.chain import AuditChain
from tappass.audit.signing import CheckpointSigner
from tappass.prometheus import GatewayMetrics


def starter_event(n: int) -> dict[str, Any]:
    steps = [{"step": f"step_{i}", "phase": "before",
              "verdict": "unavailable" if i < 2 else "allow",
              "duration_ms": 0.0123 * i} for i in range(11)]
    return {"id": f"ae_{n}", "timestamp": "2026-12-01T00:00:00.000000Z", "agent": "bot",
            "agent_id": "ag_1", "status": "allowed", "blocked": False, "http_status": 200,
            "blocked_by": None, "reason": None, "error": None, "model": "gpt-4o-mini",
            "provider": "openai", "upstream_model": "gpt-4o-mini", "pipeline": "starter",
            "mode": "observe", "flags": {"mode": "observe"}, "loosened_flags": [],
            "session_id": None, "stream": False, "classification": "internal",
            "request": {"messages": 2, "tools": 0}, "steps": steps, "would_block": [],
            "usage": {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520},
            "cost_usd": 0.000123,
            "latency_ms": {"total": 2.345, "upstream": 0.5, "gateway": 1.845}}


def timed(samples: list[float], work: Callable[[], object]) -> None:
    start = time.perf_counter_ns()
    work()
    samples.append((time.perf_counter_ns() - start) / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    chain = AuditChain(CheckpointSigner(Ed25519PrivateKey.generate()),
                       checkpoint_events=10**9, checkpoint_seconds=1e9)
    metrics = GatewayMetrics()
    seal: list[float] = []
    observe: list[float] = []
    for i in range(n):
        event = starter_event(i)
        timed(seal, lambda e=event: chain.commit(chain.seal([e], completion=False)))
        timed(observe, lambda e=event: metrics.observe([e]))
    signer = CheckpointSigner(Ed25519PrivateKey.generate())
    sign: list[float] = []
    for i in range(1000):
        timed(sign, lambda seq=i: signer.sign("w_0", seq, "0" * 64))
    for name, samples in (("chain seal", seal), ("prometheus observe", observe),
                          ("checkpoint signature", sign)):
        q = statistics.quantiles(samples, n=10)
        print(f"{name:22} p50 {statistics.median(samples):7.1f} µs   p90 {q[8]:7.1f} µs")


if __name__ == "__main__":
    main()
