"""The key-value operations, the same table on the in-process store and on the real Redis."""

from __future__ import annotations

import asyncio

import pytest

from tappass.kv import KV, Counter, Delta, MemoryKV

DAY = 86_400


@pytest.mark.parametrize("start, counters, status, index, current, after", [
    # one counter: fits / exactly fits / would pass its cap (nothing changes)
    ({"a": 5}, [Counter("a", 3, DAY, cap=10)], "ok", 0, 0, {"a": 8}),
    ({"a": 5}, [Counter("a", 5, DAY, cap=10)], "ok", 0, 0, {"a": 10}),
    ({"a": 5}, [Counter("a", 6, DAY, cap=10)], "over", 0, 5, {"a": 5}),
    # all or none: the second counter is over, so the first is not added either
    ({"a": 0, "b": 9}, [Counter("a", 2, DAY, cap=10), Counter("b", 2, DAY, cap=10)],
     "over", 1, 9, {"a": 0, "b": 9}),
    # a missing counter starts from its seed; with no seed the caller must supply one
    ({}, [Counter("a", 2, DAY, seed=7)], "ok", 0, 0, {"a": 9}),
    ({}, [Counter("a", 2, DAY, cap=8, seed=7)], "over", 0, 7, {"a": 0}),
    ({"b": 1}, [Counter("b", 1, DAY), Counter("a", 2, DAY, seed=None)], "unseeded", 1, 0,
     {"a": 0, "b": 1}),
    # amount 0: a check only (a counter this request already holds)
    ({"a": 10}, [Counter("a", 0, DAY, cap=10)], "ok", 0, 0, {"a": 10}),
    ({"a": 11}, [Counter("a", 0, DAY, cap=10)], "over", 0, 11, {"a": 11}),
])
async def test_reserve(kv: KV, start: dict[str, int], counters: list[Counter], status: str,
                       index: int, current: int, after: dict[str, int]) -> None:
    await kv.adjust([Delta(k, v, DAY) for k, v in start.items()])
    result = await kv.reserve(counters)
    assert (result.status, result.index, result.current) == (status, index, current)
    assert result.backend is kv
    assert await kv.get_ints(list(after)) == list(after.values())


async def test_adjust_creates_only_when_asked(kv: KV) -> None:
    await kv.adjust([Delta("made", 5, DAY), Delta("kept-missing", 5, DAY, create=False)])
    await kv.adjust([Delta("made", -2, DAY, create=False)])
    assert await kv.get_ints(["made", "kept-missing"]) == [3, 0]


async def test_fifty_concurrent_reservations_never_pass_the_cap(kv: KV) -> None:
    results = await asyncio.gather(*(kv.reserve([Counter("spend", 7, DAY, cap=100)])
                                     for _ in range(50)))
    assert sum(r.status == "ok" for r in results) == 14   # 14 * 7 = 98; a 15th would be 105
    assert await kv.get_ints(["spend"]) == [98]


async def test_token_bucket_allows_the_burst_then_says_how_long_to_wait(kv: KV) -> None:
    waits = [await kv.take_token("rl:bot:2", 2) for _ in range(3)]
    assert waits[:2] == [0.0, 0.0]
    assert 0 < waits[2] <= 30        # 2 per minute: one token every 30 s
    assert await kv.take_token("rl:other:2", 2) == 0.0   # buckets are per key


async def test_session_structures(kv: KV) -> None:
    assert await kv.hash_set_new("tools", "send", "h1", DAY) == "h1"
    assert await kv.hash_set_new("tools", "send", "h2", DAY) == "h1"   # first writer wins
    assert await kv.hash_get("tools") == {"send": "h1"}
    assert await kv.set_add("seen", ["a", "b"], DAY) == [True, True]
    assert await kv.set_add("seen", ["b", "c"], DAY) == [False, True]
    assert await kv.set_members("seen") == {"a", "b", "c"}
    assert await kv.list_push("calls", ["1", "2", "3"], 4, DAY) == ["1", "2", "3"]
    assert await kv.list_push("calls", ["4", "5"], 4, DAY) == ["2", "3", "4", "5"]
    assert await kv.list_push("calls", [], 4, DAY) == ["2", "3", "4", "5"]
    assert await kv.list_get("calls") == ["2", "3", "4", "5"]
    assert await kv.hash_incr_float("state", "escalation", 0.25, DAY) == 0.25
    assert await kv.hash_incr_float("state", "escalation", 0.5, DAY) == 0.75
    assert await kv.get_ints(["nothing"]) == [0]
    await kv.ping()


async def test_memory_keys_expire_and_stay_bounded() -> None:
    kv = MemoryKV(max_keys=3)
    await kv.adjust([Delta("gone", 1, 0)])        # expires at once
    assert await kv.get_ints(["gone"]) == [0]
    await kv.adjust([Delta(f"k{i}", 1, DAY) for i in range(5)])
    assert await kv.get_ints([f"k{i}" for i in range(5)]) == [0, 0, 1, 1, 1]  # oldest went


async def test_redis_keys_are_prefixed_and_expire() -> None:
    from tappass.kv.redis import RedisKV
    from tests.support.redis import delete_prefix, redis_url, unique_prefix

    url, prefix = redis_url(), unique_prefix()
    store = RedisKV(url, prefix)
    try:
        await store.reserve([Counter("spend", 1, 120)])
        await store.list_push("calls", ["x"], 5, 300)
        client = store._client
        assert await client.get(f"{prefix}spend") == "1"
        assert 0 < await client.ttl(f"{prefix}spend") <= 120
        assert 0 < await client.ttl(f"{prefix}calls") <= 300
    finally:
        await store.close()
        delete_prefix(url, prefix)
