"""Shared state for rate limits, budgets and sessions: a small key-value layer.

`open_kv(settings)` picks the store from `TAPPASS_KV_URL`: unset or `memory://` keeps
state in the worker's memory (`MemoryKV`); `redis://host:port/db` shares it between every
worker and gateway using that Redis (`RedisKV`, wrapped in `FailoverKV` so a Redis outage
degrades to per-worker state instead of failing requests). Every key is stored under
`TAPPASS_KV_PREFIX` (default `tappass:`). The operations are in `tappass.kv.base.KV`;
each is atomic, so no caller reads, modifies and writes back.

The Redis client is imported only when a redis:// URL is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tappass.kv.base import KV, Counter, Delta, KVUnavailable, Reserved
from tappass.kv.memory import MemoryKV

if TYPE_CHECKING:
    from tappass.settings import Settings

__all__ = ["KV", "Counter", "Delta", "KVUnavailable", "MemoryKV", "Reserved", "open_kv", "where"]

NANO_USD = 1_000_000_000  # counters hold money as whole nano-dollars


def usd_units(usd: float) -> int:
    return round(usd * NANO_USD)


def units_usd(units: int) -> float:
    return units / NANO_USD


def where(url: str) -> str:
    """The URL without credentials, for logs and health checks."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def open_kv(settings: Settings) -> KV:
    url = settings.kv_url
    if not url or url.startswith("memory://"):
        return MemoryKV(settings.kv_prefix)
    from tappass.kv.failover import FailoverKV
    from tappass.kv.redis import RedisKV

    kv = FailoverKV(RedisKV(url, settings.kv_prefix), MemoryKV(settings.kv_prefix),
                    where=where(url), retry_seconds=settings.kv_retry_seconds)
    try:
        await kv.ping()   # unreachable at start: the gateway still starts, degraded
    except KVUnavailable:
        pass
    return kv
