"""Anomaly alerts: an agent's request rate or block rate far above its own recent baseline.

Each agent's requests and blocks are counted in one-minute buckets; the last 30 full
buckets are its baseline (a minute without traffic counts as zero). Once the agent has at
least 5 minutes of baseline, the current minute is anomalous when

- rate:  its requests reach max(30, 5 x the baseline's mean requests per minute), or
- block: it has at least 10 blocks and its block rate reaches max(25 %, 5 x the
  baseline's block rate).

One alert per agent and kind, then that pair is quiet for 10 minutes. Counting is per
gateway process (each worker sees its own share of the traffic: with N workers behind one
port, rates are per worker and so are the thresholds). The numbers are the defaults of
`AnomalyDetector`; tests pass a clock and smaller windows.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class _Agent:
    start: float
    requests: int = 0
    blocks: int = 0
    history: deque[tuple[int, int]] = field(default_factory=deque)
    quiet_until: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class AnomalyDetector:
    window: float = 60.0
    history: int = 30
    min_history: int = 5
    factor: float = 5.0
    min_requests: int = 30
    min_blocks: int = 10
    min_block_rate: float = 0.25
    cooldown: float = 600.0
    clock: Callable[[], float] = time.monotonic
    _agents: dict[str, _Agent] = field(default_factory=dict)

    def observe(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Count the event; the anomaly alerts it triggers (usually none)."""
        agent = event.get("agent")
        if not isinstance(agent, str):
            return []
        now = self.clock()
        stats = self._roll(agent, now)
        stats.requests += 1
        stats.blocks += bool(event.get("blocked"))
        if len(stats.history) < self.min_history:
            return []
        return [self._alert(agent, kind, stats, detail, event)
                for kind, detail in self._findings(stats) if self._due(stats, kind, now)]

    def _roll(self, agent: str, now: float) -> _Agent:
        stats = self._agents.get(agent)
        if stats is None:
            stats = self._agents[agent] = _Agent(start=now)
            return stats
        while now - stats.start >= self.window:
            stats.history.append((stats.requests, stats.blocks))
            if len(stats.history) > self.history:
                stats.history.popleft()
            stats.start += self.window
            stats.requests = stats.blocks = 0
            if now - stats.start >= self.window * self.history:  # long idle: all zeros
                stats.history.extend([(0, 0)] * self.history)
                while len(stats.history) > self.history:
                    stats.history.popleft()
                stats.start = now
        return stats

    def _findings(self, stats: _Agent) -> list[tuple[str, dict[str, Any]]]:
        base_requests = sum(r for r, _ in stats.history) / len(stats.history)
        total = sum(r for r, _ in stats.history)
        base_rate = sum(b for _, b in stats.history) / total if total else 0.0
        found = []
        if stats.requests >= max(self.min_requests, self.factor * base_requests):
            found.append(("request_rate", {"requests_this_minute": stats.requests,
                                           "baseline_per_minute": round(base_requests, 2)}))
        rate = stats.blocks / stats.requests
        if stats.blocks >= self.min_blocks and rate >= max(self.min_block_rate,
                                                           self.factor * base_rate):
            found.append(("block_rate", {"blocks_this_minute": stats.blocks,
                                         "block_rate": round(rate, 3),
                                         "baseline_block_rate": round(base_rate, 3)}))
        return found

    def _due(self, stats: _Agent, kind: str, now: float) -> bool:
        if now < stats.quiet_until.get(kind, float("-inf")):
            return False
        stats.quiet_until[kind] = now + self.cooldown
        return True

    def _alert(self, agent: str, kind: str, stats: _Agent, detail: dict[str, Any],
               event: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": f"al_{event.get('id')}_{kind}", "type": "anomaly", "anomaly": kind,
                "agent": agent, "agent_id": event.get("agent_id"),
                "audit_id": event.get("id"), "created_at": event.get("timestamp"),
                "window_seconds": self.window, **detail}
