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
from bisect import bisect_left
from collections.abc import Iterable, Sequence
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


_pid = [os.getpid()]  # kept current across fork() without a getpid() call per write
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))


class _MmapValue:
    """prometheus_client's multiprocess value (one float in this worker's mmap file),
    without its global lock and its `getpid()` per write: the audit writer task is the only
    writer, and a fork is noticed through `_pid`. The files and keys are prometheus_client's
    own, so `MultiProcessCollector` adds them up as before."""

    _multiprocess = True
    _files: dict[str, Any]  # path -> MmapedDict, one set per GatewayMetrics

    def __init__(self, typ: str, metric_name: str, name: str, labelnames: Sequence[str],
                 labelvalues: Sequence[str], help_text: str, multiprocess_mode: str = "",
                 **kwargs: Any) -> None:
        from prometheus_client.mmap_dict import mmap_key

        self._prefix = f"{typ}_{multiprocess_mode}" if typ == "gauge" else typ
        self._key = mmap_key(metric_name, name, list(labelnames), list(labelvalues),
                             help_text)
        self._open()

    def _open(self) -> None:
        from prometheus_client.mmap_dict import MmapedDict

        self._pid = _pid[0]
        path = os.path.join(os.environ[MULTIPROC_ENV], f"{self._prefix}_{self._pid}.db")
        file = self._files.get(path)
        if file is None:
            file = self._files[path] = MmapedDict(path)  # type: ignore[no-untyped-call]
        self._file = file
        value, _ = file.read_value(self._key)
        self._value = float(value)

    def inc(self, amount: float) -> None:
        if self._pid != _pid[0]:
            self._open()
        self._value += amount
        self._file.write_value(self._key, self._value, 0.0)

    def set(self, value: float, timestamp: float | None = None) -> None:
        if self._pid != _pid[0]:
            self._open()
        self._value = value
        self._file.write_value(self._key, value, timestamp or 0.0)

    def set_exemplar(self, exemplar: Any) -> None:
        return None

    def get(self) -> float:
        return self._value

    def get_exemplar(self) -> None:
        return None


def _observe(child: Any, buckets: tuple[float, ...], milliseconds: float) -> None:
    """`Histogram.observe()` of one labelled child, in seconds, without its per-call checks
    and its walk over every bucket: the child keeps one value per bucket (not cumulative,
    the last one +Inf) and one for the sum."""
    seconds = milliseconds / 1000
    child._sum.inc(seconds)
    child._buckets[bisect_left(buckets, seconds)].inc(1)  # the first bound >= seconds (le)


class GatewayMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, values

        # the class of a labelled child's values, fixed per GatewayMetrics (with its own
        # files in multiprocess mode): prometheus_client reads `values.ValueClass` when a
        # child is created
        self._values: Any = (type("MmapValue", (_MmapValue,), {"_files": {}})
                             if os.environ.get(MULTIPROC_ENV) else values.MutexValue)
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
            from prometheus_client import values

            # a child creates its values when it is made: swap the class in for that only,
            # so no other prometheus_client metric in the process gets it
            previous, values.ValueClass = values.ValueClass, self._values
            try:
                child = self._children[key] = metric.labels(*labels)
            finally:
                values.ValueClass = previous
        return child

    def observe(self, events: Iterable[dict[str, Any]]) -> None:
        """Count committed audit events (a stream's `open` event waits for its outcome)."""
        for event in events:
            status = event["status"]
            if status == _NOT_FINISHED:
                continue
            preset = event.get("pipeline") or ""
            self._child(self.requests, event.get("agent") or "", preset, status).inc(1)
            for step in event.get("steps") or ():
                verdict = step["verdict"]
                if verdict in NOT_RUN:
                    continue
                _observe(self._child(self.steps, step["step"], verdict), STEP_BUCKETS,
                         step["duration_ms"])
            latency = event.get("latency_ms")
            if latency:
                _observe(self._child(self.duration, preset), REQUEST_BUCKETS, latency["total"])
                _observe(self._child(self.overhead, preset), REQUEST_BUCKETS,
                         latency["gateway"])

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
