"""In-process counters: rate-limit buckets and spend per agent and session.

One instance per worker process. With several workers, each keeps its own counts (a later
issue moves them to Redis under `TAPPASS_KV_URL`); `/health/detailed` says so.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class TokenBucket:
    __slots__ = ("capacity", "rate", "tokens", "stamp")

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.tokens = float(per_minute)
        self.stamp = time.monotonic()

    def take(self) -> float:
        """0.0 when a token was taken, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def utc_day_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _utc_day() -> int:
    """Days since the epoch, UTC: a cheap key for "today" on the hot path."""
    return int(time.time() // 86400)


MAX_SESSIONS = 100_000  # spend per session is kept for the most recent sessions only


class LocalState:
    def __init__(self) -> None:
        self._buckets: dict[tuple[str, int], TokenBucket] = {}
        self._daily: dict[str, tuple[int, float]] = {}
        self._sessions: dict[tuple[str, str], float] = {}

    def take_token(self, agent: str, per_minute: int) -> float:
        bucket = self._buckets.get((agent, per_minute))
        if bucket is None:
            bucket = self._buckets[(agent, per_minute)] = TokenBucket(per_minute)
        return bucket.take()

    def daily_spend(self, agent: str) -> float | None:
        """Spend of the agent today, or None when this worker has not loaded it yet."""
        entry = self._daily.get(agent)
        if entry is None or entry[0] != _utc_day():
            return None
        return entry[1]

    def load_daily_spend(self, agent: str, amount: float) -> None:
        self._daily[agent] = (_utc_day(), amount)

    def session_spend(self, agent: str, session: str) -> float:
        return self._sessions.get((agent, session), 0.0)

    def add_spend(self, agent: str, session: str | None, amount: float) -> None:
        spent = self.daily_spend(agent)
        if spent is not None:  # not loaded yet: the next load reads it from the audit trail
            self._daily[agent] = (_utc_day(), spent + amount)
        if session:
            key = (agent, session)
            self._sessions[key] = self._sessions.pop(key, 0.0) + amount  # most recent last
            if len(self._sessions) > MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]

    def forget_agent(self, agent: str) -> None:
        self._daily.pop(agent, None)
        for key in [k for k in self._buckets if k[0] == agent]:
            del self._buckets[key]
