"""Redis with a per-worker fallback: the gateway keeps answering while Redis is down.

While Redis answers, every operation goes to it. When one fails to connect or times out,
the worker logs it once, answers from its own memory (counters are then per worker), and
a background task tries Redis again every `retry_seconds` (one ping, bounded by the
client's timeout); when it answers, the worker logs that once and goes back to Redis.
What was counted in memory meanwhile is not copied back. `/health/ready` reports the
state (`degraded` while Redis is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from tappass.kv.base import KV, Counter, Delta, KVUnavailable, Reserved
from tappass.kv.memory import MemoryKV

T = TypeVar("T")
log = logging.getLogger("tappass.kv")


class FailoverKV:
    kind = "redis"

    def __init__(self, primary: KV, fallback: MemoryKV, *, where: str,
                 retry_seconds: float) -> None:
        self.primary = primary
        self.fallback = fallback
        self.where = where                  # the URL without credentials, for messages
        self.retry_seconds = retry_seconds
        self.up = True
        self.down_since: float | None = None
        self.last_error = ""
        self._retry: asyncio.Task[None] | None = None

    # -- state transitions (logged once each) -------------------------------------------
    def _went_down(self, exc: KVUnavailable) -> None:
        self.last_error = str(exc)
        if not self.up:
            return
        self.up = False
        self.down_since = time.time()
        log.warning("Redis at %s is unreachable (%s): rate limits, budgets and sessions "
                    "are counted per worker until it is reachable", self.where, exc)
        if self._retry is None or self._retry.done():
            self._retry = asyncio.get_running_loop().create_task(self._reconnect())

    def _came_back(self) -> None:
        self.up = True
        self.down_since = None
        log.warning("Redis at %s answers again: rate limits, budgets and sessions are "
                    "shared across workers again", self.where)

    async def _reconnect(self) -> None:
        while not self.up:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self.primary.ping()
            except KVUnavailable as exc:
                self.last_error = str(exc)
                continue
            self._came_back()

    async def _run(self, op: Callable[[Any], Awaitable[T]]) -> T:
        if self.up:
            try:
                return await op(self.primary)
            except KVUnavailable as exc:
                self._went_down(exc)
        return await op(self.fallback)

    # -- KV ------------------------------------------------------------------------------
    async def take_token(self, key: str, per_minute: int) -> float:
        return await self._run(lambda kv: kv.take_token(key, per_minute))

    async def reserve(self, counters: Sequence[Counter]) -> Reserved:
        return await self._run(lambda kv: kv.reserve(counters))

    async def adjust(self, deltas: Sequence[Delta]) -> None:
        await self._run(lambda kv: kv.adjust(deltas))

    async def get_ints(self, keys: Sequence[str]) -> list[int]:
        return await self._run(lambda kv: kv.get_ints(keys))

    async def hash_incr_float(self, key: str, field: str, amount: float, ttl: int) -> float:
        return await self._run(lambda kv: kv.hash_incr_float(key, field, amount, ttl))

    async def hash_get(self, key: str) -> dict[str, str]:
        return await self._run(lambda kv: kv.hash_get(key))

    async def hash_set_new(self, key: str, field: str, value: str, ttl: int) -> str:
        return await self._run(lambda kv: kv.hash_set_new(key, field, value, ttl))

    async def set_add(self, key: str, members: Sequence[str], ttl: int) -> list[bool]:
        return await self._run(lambda kv: kv.set_add(key, members, ttl))

    async def set_members(self, key: str) -> set[str]:
        return await self._run(lambda kv: kv.set_members(key))

    async def list_push(self, key: str, values: Sequence[str], max_len: int,
                        ttl: int) -> list[str]:
        return await self._run(lambda kv: kv.list_push(key, values, max_len, ttl))

    async def list_get(self, key: str) -> list[str]:
        return await self._run(lambda kv: kv.list_get(key))

    async def ping(self) -> None:
        """Ping Redis now (health checks); a failure switches to the fallback."""
        if not self.up:
            raise KVUnavailable(self.last_error or "unreachable")
        try:
            await self.primary.ping()
        except KVUnavailable as exc:
            self._went_down(exc)
            raise

    async def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
        await self.primary.close()
        await self.fallback.close()
