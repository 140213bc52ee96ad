"""Per-step latency and verdict counts over a time window, computed from the audit trail.

`GET /admin/metrics` reads the audit store, not process memory: with `--workers N` (or
several hosts on one PostgreSQL) every worker writes its events to the same store, so any
worker answers for all of them. Percentiles are nearest-rank over the window's events
(exact, no sampling) over the steps that ran (a `skipped` or `unavailable` verdict is
counted, its duration left out); at most `MAX_EVENTS` events are read, the oldest of the window
first, and `truncated` says when the window held more.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tappass.storage.base import AuditQuery

if TYPE_CHECKING:
    from tappass.storage.base import Store

MAX_EVENTS = 100_000
PAGE_SIZE = 1000
PERCENTILES = (50, 95, 99)
NOT_FINISHED = frozenset({"open"})  # a stream still running: counted when it completes
NOT_RUN = frozenset({"skipped", "unavailable"})  # counted by verdict, no duration


def percentile(ordered: list[float], p: int) -> float | None:
    """Nearest-rank percentile of an ascending list; None when it is empty."""
    if not ordered:
        return None
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    out: dict[str, Any] = {f"p{p}_ms": _round(percentile(ordered, p)) for p in PERCENTILES}
    out["max_ms"] = _round(ordered[-1] if ordered else None)
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(slots=True)
class _Group:
    """Requests of one agent or preset (or all of them)."""

    statuses: Counter[str] = field(default_factory=Counter)
    gateway_ms: list[float] = field(default_factory=list)

    def add(self, event: dict[str, Any]) -> None:
        self.statuses[str(event.get("status"))] += 1
        latency = event.get("latency_ms") or {}
        if isinstance(latency.get("gateway"), int | float):
            self.gateway_ms.append(float(latency["gateway"]))

    def as_dict(self) -> dict[str, Any]:
        return {"requests": sum(self.statuses.values()), "by_status": dict(self.statuses),
                "gateway_latency": summary(self.gateway_ms)}


@dataclass(slots=True)
class _Step:
    durations: list[float] = field(default_factory=list)
    verdicts: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class WindowStats:
    start: datetime
    end: datetime
    events: int = 0
    truncated: bool = False
    total: _Group = field(default_factory=_Group)
    agents: defaultdict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))
    presets: defaultdict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))
    steps: defaultdict[str, _Step] = field(default_factory=lambda: defaultdict(_Step))

    def add(self, event: dict[str, Any]) -> None:
        self.events += 1
        if event.get("status") in NOT_FINISHED:
            return
        self.total.add(event)
        self.agents[str(event.get("agent"))].add(event)
        self.presets[str(event.get("pipeline"))].add(event)
        for result in event.get("steps") or ():
            step = self.steps[str(result.get("step"))]
            verdict = str(result.get("verdict"))
            step.verdicts[verdict] += 1
            if verdict not in NOT_RUN and isinstance(result.get("duration_ms"), int | float):
                step.durations.append(float(result["duration_ms"]))

    def as_dict(self, window: str) -> dict[str, Any]:
        steps = [{"step": name, "count": sum(s.verdicts.values()), **summary(s.durations),
                  "verdicts": dict(s.verdicts)} for name, s in self.steps.items()]
        steps.sort(key=lambda s: -(s["p95_ms"] or 0.0))
        return {"object": "metrics", "source": "audit", "window": window,
                "from": _iso(self.start), "to": _iso(self.end),
                "events": self.events, "truncated": self.truncated,
                **self.total.as_dict(), "steps": steps,
                "agents": {name: g.as_dict() for name, g in sorted(self.agents.items())},
                "presets": {name: g.as_dict() for name, g in sorted(self.presets.items())}}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW = timedelta(days=31)


def parse_window(text: str) -> timedelta:
    """"15m", "1h", "24h", "7d" (s, m, h, d); ValueError saying what is expected."""
    number, unit = text[:-1], text[-1:]
    if unit not in _UNITS or not number.isdigit() or int(number) == 0:
        raise ValueError("expected a duration such as 15m, 1h, 24h or 7d")
    window = timedelta(seconds=int(number) * _UNITS[unit])
    if window > MAX_WINDOW:
        raise ValueError("at most 31d")
    return window


async def window_stats(store: Store, window: timedelta, *, agent: str | None = None,
                       now: datetime | None = None) -> WindowStats:
    """Read the window's events page by page (write order) and aggregate them."""
    end = now or datetime.now(UTC)
    stats = WindowStats(start=end - window, end=end)
    query = AuditQuery(agent=agent, after=stats.start, before=end)
    position = 0
    while stats.events < MAX_EVENTS and (page := await store.audit_page(
            position, min(PAGE_SIZE, MAX_EVENTS - stats.events), query)):
        for _, event in page:
            stats.add(event)
        position = page[-1][0]
    if stats.events >= MAX_EVENTS:
        stats.truncated = bool(await store.audit_page(position, 1, query))
    return stats
