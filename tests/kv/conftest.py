"""Both key-value backends, for tests that must hold on each: `kv` runs once per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tappass.kv import KV, MemoryKV
from tests.support.redis import delete_prefix, redis_url, unique_prefix


@pytest.fixture(params=["memory", "redis"])
async def kv(request: pytest.FixtureRequest) -> AsyncIterator[KV]:
    if request.param == "memory":
        yield MemoryKV("t:")
        return
    from tappass.kv.redis import RedisKV

    url, prefix = redis_url(), unique_prefix()
    store = RedisKV(url, prefix)
    try:
        yield store
    finally:
        await store.close()
        delete_prefix(url, prefix)
