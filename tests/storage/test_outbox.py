"""The forwarding outbox on every backend: written with the audit events, leased per sink,
retried, dead-lettered, requeued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tappass.errors import StorageError
from tappass.forward.outbox import OutboxRow
from tappass.storage.base import Store
from tests.storage.test_store import event


def _route_blocked(events: Any) -> list[OutboxRow]:
    rows = [OutboxRow("siem", e["id"]) for e in events if e["status"] != "open"]
    rows += [OutboxRow("webhook:w1", e["id"], '{"type":"violation"}')
             for e in events if e.get("blocked")]
    return rows


async def test_rows_are_written_with_the_events_and_read_in_order(store: Store) -> None:
    store.route_outbox = _route_blocked
    await store.append_audit([event(1), event(2, blocked=True), event(3)])
    items = await store.outbox.pending("siem", 10)
    assert [i.event_id for i in items] == ["ae_0001", "ae_0002", "ae_0003"]
    assert orjson.loads(items[1].body or "")["blocked"] is True
    [alert] = await store.outbox.pending("webhook:w1", 10)
    assert (alert.event_id, alert.body) == ("ae_0002", '{"type":"violation"}')


async def test_a_failed_audit_write_leaves_no_outbox_row(store: Store) -> None:
    store.route_outbox = _route_blocked
    await store.append_audit([event(1)])
    with pytest.raises(StorageError):
        await store.append_audit([event(2), event(1)])  # duplicate id: nothing is written
    assert [i.event_id for i in await store.outbox.pending("siem", 10)] == ["ae_0001"]


async def test_a_completed_stream_is_forwarded_once_it_completes(store: Store) -> None:
    store.route_outbox = _route_blocked
    await store.append_audit([event(1, status="open")])
    assert await store.outbox.pending("siem", 10) == []
    await store.update_audit([event(1)])
    assert [i.event_id for i in await store.outbox.pending("siem", 10)] == ["ae_0001"]


async def test_retries_then_dead_letters_then_requeue(store: Store) -> None:
    store.route_outbox = _route_blocked
    await store.append_audit([event(1), event(2)])
    seqs = [i.seq for i in await store.outbox.pending("siem", 10)]
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert await store.outbox.failed(seqs, "HTTP 503\n", later, 2) == 0
    items = await store.outbox.pending("siem", 10)
    assert [i.attempts for i in items] == [1, 1] and items[0].next_at > datetime.now(UTC)
    assert await store.outbox.failed(seqs[:1], "HTTP 503", later, 2) == 1
    assert [i.event_id for i in await store.outbox.pending("siem", 10)] == ["ae_0002"]
    stats = (await store.outbox.stats())["siem"]
    assert (stats["pending"], stats["dead"], stats["last_error"]) == (1, 1, "HTTP 503")
    assert await store.outbox.failed(seqs[1:], "bad", later, 9, permanent=True) == 1
    assert await store.outbox.requeue("siem") == 2
    assert [i.attempts for i in await store.outbox.pending("siem", 10)] == [0, 0]
    await store.outbox.delivered(seqs)
    assert await store.outbox.pending("siem", 10) == [] and await store.outbox.stats() == {}


async def test_one_lease_holder_per_sink(store: Store) -> None:
    assert await store.outbox.claim("siem", "a", 30)
    assert not await store.outbox.claim("siem", "b", 30)
    assert await store.outbox.claim("siem", "a", 30)          # renew
    assert await store.outbox.claim("webhook:w1", "b", 30)    # another sink
    await store.outbox.release("siem", "a")
    assert await store.outbox.claim("siem", "b", 30)


async def test_an_expired_lease_can_be_taken_over(store: Store) -> None:
    assert await store.outbox.claim("siem", "a", -1)
    assert await store.outbox.claim("siem", "b", 30)


async def test_drop_sink_forgets_its_rows(store: Store) -> None:
    store.route_outbox = _route_blocked
    await store.append_audit([event(1, blocked=True)])
    assert await store.outbox.drop_sink("webhook:w1") == 1
    assert await store.outbox.pending("webhook:w1", 10) == []
    assert len(await store.outbox.pending("siem", 10)) == 1


async def test_streams_cut_by_a_crash_are_forwarded_as_interrupted(store: Store) -> None:
    store.route_outbox = _route_blocked
    await store.append_audit([event(1, status="open"), event(2)])
    assert await store.interrupt_open_audit() == 1
    items = await store.outbox.pending("siem", 10)
    assert [i.event_id for i in items] == ["ae_0002", "ae_0001"]
    assert orjson.loads(items[1].body or "")["status"] == "interrupted"
