"""Prometheus metrics of the gateway (`GET /metrics`), correct across worker processes.

Counters and histograms are fed from each audit event once it is committed (a stream's
when it completes), so they count exactly what the audit trail records:

- `tappass_requests_total{agent, preset, status}`
- `tappass_step_duration_seconds{step, verdict}` (histogram; steps that did not run,
  `skipped` or `unavailable`, are left out)
- `tappass_gateway_overhead_seconds{preset}` (histogram: total latency less upstream)
- `tappass_request_duration_seconds{preset}` (histogram: total latency)

With `tappass up` the metrics are in prometheus_client's multiprocess mode: every worker
writes its values to files under `PROMETHEUS_MULTIPROC_DIR` (by default
`TAPPASS_HOME/run/prometheus-<port>`, emptied at each start) and a scrape of any worker
adds them up. Without that variable (an app created in-process) the process's own values
are served. The metric objects live in a registry per app, never a global one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tappass.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STEP_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                0.1, 0.25, 0.5, 1.0, 2.5)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, 60.0)
_NOT_FINISHED = "open"
NOT_RUN = frozenset({"skipped", "unavailable"})  # no duration worth a histogram


def prepare_multiprocess_dir(settings: Settings) -> Path:
    """Set PROMETHEUS_MULTIPROC_DIR for the workers about to start (before any of them
    imports prometheus_client); our own default directory is emptied first, so counts
    start at zero with the gateway. A directory the operator set is left as it is."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        return Path(configured)
    path = settings.home / "run" / f"prometheus-{settings.port}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


class GatewayMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tappass_requests", "Requests by agent, preset and outcome (the audit status).",
            ["agent", "preset", "status"], registry=self.registry)
        self.steps = Histogram(
            "tappass_step_duration_seconds", "Time one pipeline step took, by its verdict.",
            ["step", "verdict"], buckets=STEP_BUCKETS, registry=self.registry)
        self.overhead = Histogram(
            "tappass_gateway_overhead_seconds",
            "Time the gateway added to a request (total latency less the upstream's).",
            ["preset"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.duration = Histogram(
            "tappass_request_duration_seconds", "Total latency of a request at the gateway.",
            ["preset"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self._children: dict[tuple[Any, ...], Any] = {}  # labels() once per label set

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, events: Iterable[dict[str, Any]]) -> None:
        """Count committed audit events (a stream's `open` event waits for its outcome)."""
        for event in events:
            if event.get("status") == _NOT_FINISHED:
                continue
            preset = event.get("pipeline") or ""
            self._child(self.requests, event.get("agent") or "", preset, event["status"]).inc()
            for step in event.get("steps") or ():
                if step["verdict"] in NOT_RUN:
                    continue
                self._child(self.steps, step["step"], step["verdict"]).observe(
                    step["duration_ms"] / 1000)
            latency = event.get("latency_ms")
            if latency:
                self._child(self.duration, preset).observe(latency["total"] / 1000)
                self._child(self.overhead, preset).observe(latency["gateway"] / 1000)

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
