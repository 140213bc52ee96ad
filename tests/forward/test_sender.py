"""The sender against the memory store's outbox with scripted destinations: order, retry
with backoff, dead letters, one lease holder, partial alert batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from tappass.forward.destinations import DeliveryError
from tappass.forward.outbox import OutboxItem, OutboxRow, backoff
from tappass.forward.sender import Sender, SenderPolicy
from tappass.storage.memory import MemoryStore


class Script:
    """A destination that fails as told, then records what it received."""

    def __init__(self, failures: list[DeliveryError] | None = None) -> None:
        self.failures = failures or []
        self.received: list[str] = []

    async def send(self, items: Sequence[OutboxItem]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.received += [item.event_id for item in items]


def ev(n: int) -> dict[str, Any]:
    return {"id": f"ae_{n}", "timestamp": f"2026-12-01T00:00:{n:02d}.000000Z", "agent": "a",
            "status": "allowed", "blocked": False, "cost_usd": None}


async def _store(count: int) -> MemoryStore:
    store = MemoryStore()
    await store.open()
    store.route_outbox = lambda events: [OutboxRow("siem", e["id"]) for e in events]
    await store.append_audit([ev(n) for n in range(count)])
    return store


async def test_delivers_in_batches_in_order() -> None:
    store = await _store(7)
    sender = Sender(store.outbox, SenderPolicy(batch_max=3))
    dest = Script()
    await sender.drain("siem", dest)
    assert dest.received == [f"ae_{n}" for n in range(7)]
    assert await store.outbox.pending("siem", 10) == []
    assert sender.counters["siem"].delivered == 7


async def test_a_failed_batch_waits_for_its_backoff_and_holds_back_the_rest() -> None:
    store = await _store(4)
    sender = Sender(store.outbox, SenderPolicy(batch_max=2))
    dest = Script([DeliveryError("HTTP 503")])
    await sender.drain("siem", dest)
    assert dest.received == []                      # nothing overtakes the failed batch
    items = await store.outbox.pending("siem", 10)
    assert [i.attempts for i in items] == [1, 1, 0, 0]
    await sender.drain("siem", dest)                # its retry time has not come yet
    assert dest.received == []
    for item in items[:2]:                           # time passes
        store.outbox._rows[item.seq].next_at = items[2].next_at
    await sender.drain("siem", dest)
    assert dest.received == ["ae_0", "ae_1", "ae_2", "ae_3"]


async def test_permanent_refusals_become_dead_letters_and_the_queue_moves_on() -> None:
    store = await _store(3)
    sender = Sender(store.outbox, SenderPolicy(batch_max=1))
    dest = Script([DeliveryError("HTTP 400", permanent=True)])
    await sender.drain("siem", dest)
    await sender.drain("siem", dest)
    assert dest.received == ["ae_1", "ae_2"]
    stats = await store.outbox.stats()
    assert stats["siem"]["dead"] == 1 and stats["siem"]["last_error"] == "HTTP 400"
    assert sender.counters["siem"].dead_lettered == 1


async def test_rows_become_dead_after_max_attempts() -> None:
    store = await _store(1)
    sender = Sender(store.outbox, SenderPolicy(max_attempts=2))
    dest = Script([DeliveryError("down"), DeliveryError("down")])
    await sender.drain("siem", dest)
    item = (await store.outbox.pending("siem", 1))[0]
    store.outbox._rows[item.seq].next_at = store.outbox._rows[item.seq].created_at
    await sender.drain("siem", dest)
    assert (await store.outbox.stats())["siem"]["dead"] == 1


async def test_only_the_lease_holder_sends() -> None:
    store = await _store(2)
    first, second = Sender(store.outbox, SenderPolicy()), Sender(store.outbox, SenderPolicy())
    await store.outbox.claim("siem", first.holder, 30)
    dest = Script()
    await second.drain("siem", dest)
    assert dest.received == []
    await first.drain("siem", dest)
    assert dest.received == ["ae_0", "ae_1"]


async def test_alerts_delivered_before_a_failure_are_not_sent_again() -> None:
    store = MemoryStore()
    await store.open()
    store.route_outbox = lambda events: [OutboxRow("webhook:w", e["id"], orjson.dumps(
        {"id": e["id"]}).decode()) for e in events]
    await store.append_audit([ev(n) for n in range(3)])
    sender = Sender(store.outbox, SenderPolicy())
    await sender.drain("webhook:w", Script([DeliveryError("HTTP 502", sent=1)]))
    assert [i.event_id for i in await store.outbox.pending("webhook:w", 10)] == [
        "ae_1", "ae_2"]


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    import random
    rng = random.Random(1)
    waits = [backoff(n, cap=60, rng=rng) for n in range(1, 10)]
    assert all(2 ** (n - 1) / 2 <= w <= 2 ** (n - 1)
               for n, w in zip(range(1, 7), waits[:6], strict=True))
    assert all(30 <= w <= 60 for w in waits[6:])
    assert len({round(backoff(3, rng=rng), 6) for _ in range(5)}) > 1
