"""The in-process key-value store: the default, and the fallback while Redis is down.

Operations never await in the middle, so each is atomic within the worker. Keys expire
lazily (checked on access) and the least recently written go first when there are more than
`max_keys`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypeVar

from tappass.kv.base import Counter, Delta, Reserved

T = TypeVar("T")
MAX_KEYS = 200_000


class _Bucket:
    __slots__ = ("capacity", "rate", "tokens", "stamp")

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.tokens = float(per_minute)
        self.stamp = time.monotonic()

    def take(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class MemoryKV:
    kind = "memory"

    def __init__(self, prefix: str = "", max_keys: int = MAX_KEYS) -> None:
        self.prefix = prefix
        self._max_keys = max_keys
        self._data: dict[str, tuple[float, Any]] = {}   # key -> (expires at, value)
        self._reserved = Reserved("ok", backend=self)    # frozen: one for every success

    # -- storage with expiry -----------------------------------------------------------
    def _get(self, key: str) -> Any:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._data[key]
            return None
        return entry[1]

    def _put(self, key: str, value: Any, ttl: int) -> None:
        self._data.pop(key, None)  # re-inserted last: the oldest keys are evicted first
        self._data[key] = (time.monotonic() + ttl, value)
        if len(self._data) > self._max_keys:
            self._evict()

    def _evict(self) -> None:
        """Drop the least recently written keys (expired ones go when they are read)."""
        while len(self._data) > self._max_keys:
            del self._data[next(iter(self._data))]

    def _typed(self, key: str, kind: type[T], empty: T) -> T:
        value = self._get(key)
        return value if isinstance(value, kind) else empty

    # -- operations ------------------------------------------------------------------------
    async def take_token(self, key: str, per_minute: int) -> float:
        key = self.prefix + key
        bucket = self._get(key)
        if not isinstance(bucket, _Bucket):
            bucket = _Bucket(per_minute)
        wait = bucket.take()
        self._put(key, bucket, 120)
        return wait

    async def reserve(self, counters: Sequence[Counter]) -> Reserved:
        values = []
        for i, counter in enumerate(counters):
            value = self._get(self.prefix + counter.key)
            if value is None:
                if counter.seed is None:
                    return Reserved("unseeded", i, 0, self)
                value = counter.seed
            if counter.cap is not None and value + counter.amount > counter.cap:
                return Reserved("over", i, int(value), self)
            values.append(int(value))
        for counter, value in zip(counters, values, strict=True):
            self._put(self.prefix + counter.key, value + counter.amount, counter.ttl)
        return self._reserved

    async def adjust(self, deltas: Sequence[Delta]) -> None:
        for delta in deltas:
            value = self._get(self.prefix + delta.key)
            if value is None and not delta.create:
                continue
            self._put(self.prefix + delta.key, int(value or 0) + delta.amount, delta.ttl)

    async def get_ints(self, keys: Sequence[str]) -> list[int]:
        return [int(self._typed(self.prefix + k, int, 0)) for k in keys]

    async def hash_incr_float(self, key: str, field: str, amount: float, ttl: int) -> float:
        data = dict(self._typed(self.prefix + key, dict, {}))
        data[field] = str(float(data.get(field, 0.0)) + amount)
        self._put(self.prefix + key, data, ttl)
        return float(data[field])

    async def hash_get(self, key: str) -> dict[str, str]:
        return dict(self._typed(self.prefix + key, dict, {}))

    async def hash_set_new(self, key: str, field: str, value: str, ttl: int) -> str:
        data = dict(self._typed(self.prefix + key, dict, {}))
        data.setdefault(field, value)
        self._put(self.prefix + key, data, ttl)
        return str(data[field])

    async def set_add(self, key: str, members: Sequence[str], ttl: int) -> list[bool]:
        data = set(self._typed(self.prefix + key, set, set()))
        new = []
        for member in members:
            new.append(member not in data)
            data.add(member)
        self._put(self.prefix + key, data, ttl)
        return new

    async def set_members(self, key: str) -> set[str]:
        return set(self._typed(self.prefix + key, set, set()))

    async def list_push(self, key: str, values: Sequence[str], max_len: int,
                        ttl: int) -> list[str]:
        data = [*self._typed(self.prefix + key, list, []), *values][-max_len:]
        self._put(self.prefix + key, data, ttl)
        return list(data)

    async def list_get(self, key: str) -> list[str]:
        return list(self._typed(self.prefix + key, list, []))

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
