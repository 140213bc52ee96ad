"""The Store contract, run against every backend (memory, sqlite, postgres)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from tappass.errors import AlreadyExists, ConfigError, StorageError
from tappass.storage._migrations import migration_names
from tappass.storage.base import AgentRecord, AuditQuery, Store
from tappass.storage.postgres import PostgresStore, mask_url
from tappass.storage.sqlite import SqliteStore

T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
MIGRATION_BACKEND = {"local": "sqlite", "postgres": "postgres"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event(n: int, *, seconds: float | None = None, agent: str | None = "alpha",
          blocked: bool = False, cost: float | None = 0.01, **extra: Any) -> dict[str, Any]:
    """Audit event "ae_000n" at T0 + n seconds (or `seconds`)."""
    return {"id": f"ae_{n:04d}", "timestamp": iso(at(n if seconds is None else seconds)),
            "agent": agent, "status": "blocked" if blocked else "allowed", "blocked": blocked,
            "cost_usd": cost, **extra}


def agent(name: str = "alpha", **changes: Any) -> AgentRecord:
    record = AgentRecord(id=f"ag_{name}", name=name, preset="standard", flags={"mode": "enforce"},
                         enabled=True, key_prefix=f"tp_{name}", key_hash="ab" * 32,
                         created_at=at(1.5), updated_at=at(2.25),
                         overrides={"data_protection": {"detect_pii": {"threshold": 0.8}}},
                         locked_flags=["mode"])
    return replace(record, **changes)


def ids(events: list[dict[str, Any]]) -> list[int]:
    return [int(e["id"].removeprefix("ae_")) for e in events]


# -- lifecycle -------------------------------------------------------------------------

async def test_open_applies_migrations_once(new_store: Callable[[], Store]) -> None:
    first = new_store()
    await first.open()
    expected = migration_names(MIGRATION_BACKEND[first.kind]) if first.kind != "memory" else []
    assert await first.applied_migrations() == expected
    await first.open()  # already open: nothing happens
    await first.set_meta("k", "v")
    await first.close()
    await first.open()  # reopen the same database
    second = new_store()
    await second.open()  # a second store on the same database
    try:
        assert await first.applied_migrations() == expected
        assert await second.applied_migrations() == expected
        if first.kind != "memory":
            assert expected and await second.get_meta("k") == "v"
    finally:
        await first.close()
        await second.close()


async def test_concurrent_opens_apply_each_migration_once(
        new_store: Callable[[], Store]) -> None:
    stores = [new_store() for _ in range(3)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        applied = [await s.applied_migrations() for s in stores]
        assert applied[0] == applied[1] == applied[2]
        assert len(set(applied[0])) == len(applied[0])
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_ping_and_close_twice(store: Store) -> None:
    await store.ping()
    await store.close()
    await store.close()
    with pytest.raises(StorageError, match="not open"):
        await store.ping()
    with pytest.raises(StorageError):
        await store.get_meta("k")


async def test_meta_upsert(store: Store) -> None:
    assert await store.get_meta("admin_key_hash") is None
    await store.set_meta("admin_key_hash", "first")
    await store.set_meta("other", "x")
    await store.set_meta("admin_key_hash", "second")
    assert await store.get_meta("admin_key_hash") == "second"
    assert await store.get_meta("other") == "x"


# -- agents ----------------------------------------------------------------------------

async def test_agent_round_trip(store: Store) -> None:
    record = agent()
    await store.create_agent(record)
    got = await store.get_agent("alpha")
    assert got == record
    assert got is not None and got.created_at.utcoffset() == timedelta(0)
    assert await store.get_agent_by_key_prefix("tp_alpha") == record


async def test_times_come_back_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    await store.create_agent(agent(created_at=at(0).astimezone(plus_two)))
    got = await store.get_agent("alpha")
    assert got is not None and got.created_at == at(0) and got.created_at.tzinfo == UTC


async def test_missing_agent_is_none(store: Store) -> None:
    await store.create_agent(agent())
    assert await store.get_agent("nobody") is None
    assert await store.get_agent_by_key_prefix("tp_nobody") is None


@pytest.mark.parametrize(("duplicate", "message"), [
    (agent(id="ag_other", key_prefix="tp_other"), "agent 'alpha' already exists"),
    (agent(name="beta", key_prefix="tp_alpha"), "key prefix 'tp_alpha'"),
])
async def test_create_duplicate_raises(store: Store, duplicate: AgentRecord,
                                       message: str) -> None:
    await store.create_agent(agent())
    with pytest.raises(AlreadyExists, match=message):
        await store.create_agent(duplicate)
    assert await store.list_agents() == [agent()]


async def test_list_agents_by_name(store: Store) -> None:
    assert await store.list_agents() == []
    for name in ["mike", "alpha", "zulu", "bravo"]:
        await store.create_agent(agent(name))
    assert [a.name for a in await store.list_agents()] == ["alpha", "bravo", "mike", "zulu"]


async def test_update_agent_writes_every_mutable_field(store: Store) -> None:
    await store.create_agent(agent())
    await store.create_agent(agent("beta"))
    changed = agent(preset="regulated", flags={"mode": "observe", "pii": "redact"},
                    enabled=False, key_prefix="tp_new", key_hash="cd" * 32,
                    overrides={"tracking": {"steps": ["a", "b"]}}, locked_flags=[],
                    updated_at=at(99), created_at=at(50), id="ag_ignored")
    await store.update_agent(changed)
    got = await store.get_agent("alpha")
    # id and created_at are not mutable: the stored ones stay
    assert got == replace(changed, id="ag_alpha", created_at=agent().created_at)
    assert await store.get_agent_by_key_prefix("tp_alpha") is None
    assert await store.get_agent_by_key_prefix("tp_new") == got
    assert await store.get_agent("beta") == agent("beta")


async def test_update_missing_agent_raises(store: Store) -> None:
    with pytest.raises(StorageError, match="'ghost' does not exist") as caught:
        await store.update_agent(agent("ghost"))
    assert not isinstance(caught.value, AlreadyExists)


async def test_update_to_taken_key_prefix_raises(store: Store) -> None:
    await store.create_agent(agent())
    await store.create_agent(agent("beta"))
    with pytest.raises(AlreadyExists, match="key prefix 'tp_alpha'"):
        await store.update_agent(agent("beta", key_prefix="tp_alpha"))
    assert await store.get_agent("beta") == agent("beta")


async def test_delete_agent(store: Store) -> None:
    await store.create_agent(agent())
    await store.create_agent(agent("beta"))
    assert await store.delete_agent("alpha") is True
    assert await store.delete_agent("alpha") is False
    assert await store.get_agent("alpha") is None
    assert await store.list_agents() == [agent("beta")]
    await store.create_agent(agent())  # name and key prefix are free again


async def test_returned_records_are_copies(store: Store) -> None:
    record = agent()
    await store.create_agent(record)
    record.flags["mode"] = "changed-after-create"
    got = await store.get_agent("alpha")
    assert got is not None
    got.flags["mode"] = "changed"
    got.overrides.clear()
    got.locked_flags.append("x")
    (await store.list_agents())[0].flags.clear()
    assert await store.get_agent("alpha") == agent()


# -- audit -----------------------------------------------------------------------------

async def test_event_body_round_trips_exactly(store: Store) -> None:
    sent = event(1, steps=[{"step": "detect_pii", "findings": [{"type": "EMAIL",
                                                                "span": [3, 17],
                                                                "score": 0.93}]}],
                 usage={"prompt_tokens": 12, "completion_tokens": 0, "cached": None},
                 flags={"mode": "observe"}, reason="naïve \u201cquotes\u201d \u0000 and 😀",
                 latency_ms={"total": 12.5, "upstream": 1e-7, "big": 1.5e300},
                 zeta=True, alpha=[], nested={"b": {"a": [1, [2, {}]]}})
    await store.append_audit([sent])
    got = await store.query_audit(AuditQuery())
    assert got == [sent]
    assert orjson.dumps(got[0]) == orjson.dumps(sent)  # same key order and number forms


async def test_empty_append_is_noop(store: Store) -> None:
    await store.append_audit([])
    assert await store.query_audit(AuditQuery()) == []


# e1 alpha t10, e2 beta t20 blocked, e3 alpha t30 blocked, e4 no agent t40, e5 alpha t50
DATASET = [event(3, blocked=True), event(1), event(5), event(2, agent="beta", blocked=True),
           event(4, agent=None)]


@pytest.mark.parametrize(("query", "expected"), [
    (AuditQuery(), [5, 4, 3, 2, 1]),
    (AuditQuery(agent="alpha"), [5, 3, 1]),
    (AuditQuery(agent="nobody"), []),
    (AuditQuery(blocked=True), [3, 2]),
    (AuditQuery(blocked=False), [5, 4, 1]),
    (AuditQuery(after=at(2)), [5, 4, 3]),
    (AuditQuery(before=at(3)), [2, 1]),
    (AuditQuery(after=at(1), before=at(5)), [4, 3, 2]),
    (AuditQuery(after=at(1.5), before=at(4.5)), [4, 3, 2]),
    (AuditQuery(after=at(2).astimezone(timezone(timedelta(hours=-5)))), [5, 4, 3]),
    (AuditQuery(agent="alpha", blocked=True), [3]),
    (AuditQuery(agent="alpha", after=at(1)), [5, 3]),
    (AuditQuery(agent="alpha", blocked=False, before=at(5)), [1]),
    (AuditQuery(blocked=True, after=at(2), before=at(50)), [3]),
    (AuditQuery(limit=2), [5, 4]),
    (AuditQuery(agent="alpha", limit=1), [5]),
    (AuditQuery(limit=0), []),
])
async def test_query_filters(store: Store, query: AuditQuery, expected: list[int]) -> None:
    await store.append_audit(DATASET[:2])
    await store.append_audit(DATASET[2:])
    got = await store.query_audit(query)
    assert ids(got) == expected
    assert all(e == next(d for d in DATASET if d["id"] == e["id"]) for e in got)


async def test_concurrent_appends_all_land(store: Store) -> None:
    batches = [[event(n * 10 + i, seconds=n + i / 10) for i in range(3)] for n in range(20)]
    await asyncio.gather(*(store.append_audit(batch) for batch in batches),
                         *(store.set_meta(f"k{n}", "v") for n in range(20)))
    assert len(await store.query_audit(AuditQuery(limit=1000))) == 60
    assert await store.sum_cost("alpha", at(0)) == pytest.approx(0.6)


async def test_bounds_are_exclusive_to_the_microsecond(store: Store) -> None:
    await store.append_audit([event(1, seconds=10.000001)])
    assert ids(await store.query_audit(AuditQuery(after=at(10)))) == [1]
    assert ids(await store.query_audit(AuditQuery(after=at(10.000001)))) == []
    assert ids(await store.query_audit(AuditQuery(before=at(10.000001)))) == []
    assert ids(await store.query_audit(AuditQuery(before=at(10.000002)))) == [1]


async def test_same_timestamp_newest_appended_first(store: Store) -> None:
    await store.append_audit([event(1, seconds=7), event(2, seconds=7)])
    await store.append_audit([event(3, seconds=7)])
    assert ids(await store.query_audit(AuditQuery())) == [3, 2, 1]


async def test_timestamp_with_offset_sorts_by_instant(store: Store) -> None:
    early = event(1) | {"timestamp": "2026-11-26T01:00:05.000000+02:00"}  # = T0 - 1h + 5s
    await store.append_audit([event(2), early])
    assert ids(await store.query_audit(AuditQuery())) == [2, 1]
    assert ids(await store.query_audit(AuditQuery(before=at(0)))) == [1]


@pytest.mark.parametrize("batch", [
    pytest.param([event(2), event(1, cost=9.0), event(3)], id="id-already-stored"),
    pytest.param([event(2), event(3), event(2)], id="id-twice-in-batch"),
    pytest.param([event(2), {k: v for k, v in event(3).items() if k != "timestamp"}],
                 id="missing-timestamp"),
    pytest.param([event(2), event(3) | {"timestamp": "yesterday"}], id="bad-timestamp"),
    pytest.param([event(2), event(3) | {"blocked": "no"}], id="blocked-not-bool"),
    pytest.param([event(2), event(3, body={1, 2})], id="not-json"),
])
async def test_failed_batch_writes_nothing(store: Store, batch: list[dict[str, Any]]) -> None:
    await store.append_audit([event(1)])
    with pytest.raises(StorageError):
        await store.append_audit(batch)
    assert ids(await store.query_audit(AuditQuery())) == [1]
    assert await store.sum_cost("alpha", at(0)) == pytest.approx(0.01)
    await store.append_audit([event(2), event(3)])  # the store still works afterwards
    assert ids(await store.query_audit(AuditQuery())) == [3, 2, 1]


async def test_sum_cost(store: Store) -> None:
    await store.append_audit([event(1, cost=0.5), event(2, cost=0.25), event(3, cost=None),
                              event(4, agent="beta", cost=1.0), event(5, cost=2)])
    assert await store.sum_cost("alpha", at(0)) == pytest.approx(2.75)
    assert await store.sum_cost("alpha", at(2)) == pytest.approx(2.25)  # inclusive bound
    assert await store.sum_cost("alpha", at(2.000001)) == pytest.approx(2.0)
    assert await store.sum_cost("beta", at(0)) == pytest.approx(1.0)
    for empty in [await store.sum_cost("alpha", at(6)), await store.sum_cost("nobody", at(0))]:
        assert empty == 0.0 and isinstance(empty, float)


async def test_sum_cost_of_only_none_costs_is_zero(store: Store) -> None:
    await store.append_audit([event(1, cost=None)])
    assert await store.sum_cost("alpha", at(0)) == 0.0


# -- streams: open events completed or interrupted -------------------------------------

async def test_update_replaces_an_open_event_in_place(store: Store) -> None:
    await store.append_audit([event(1, status="open", cost=None), event(2)])
    done = {**event(1, cost=0.75), "status": "blocked", "blocked": True, "extra": [1, 2]}
    await store.update_audit([done])
    events = await store.query_audit(AuditQuery())
    assert ids(events) == [2, 1] and events[1] == done  # same place, whole body replaced
    assert await store.sum_cost("alpha", at(0)) == pytest.approx(0.76)
    assert ids(await store.query_audit(AuditQuery(blocked=True))) == [1]


async def test_update_of_an_unknown_event_writes_nothing(store: Store) -> None:
    await store.append_audit([event(1, status="open")])
    with pytest.raises(StorageError, match="ae_0009"):
        await store.update_audit([event(1), event(9)])
    assert (await store.query_audit(AuditQuery()))[0]["status"] == "open"


async def test_open_events_are_marked_interrupted(store: Store) -> None:
    await store.append_audit([event(1, status="open", http_status=200, error=None),
                              event(2), event(3, status="open", http_status=200, error=None)])
    assert await store.interrupt_open_audit() == 2
    assert await store.interrupt_open_audit() == 0
    events = {e["id"]: e for e in await store.query_audit(AuditQuery())}
    assert [events[f"ae_000{n}"]["status"] for n in (1, 2, 3)] == [
        "interrupted", "allowed", "interrupted"]
    assert events["ae_0001"]["error"] == "the gateway stopped while the stream was open"
    assert events["ae_0001"]["agent"] == "alpha"  # the rest of the body is kept


# -- backend specifics -----------------------------------------------------------------

async def test_sqlite_creates_parent_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "tappass.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


async def test_sqlite_unopenable_path_names_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot open SQLite database .*file"):
        await SqliteStore(blocker / "tappass.db").open()


@pytest.mark.parametrize(("url", "masked"), [
    ("postgresql://app:s3cret@db:5432/tappass", "postgresql://app:***@db:5432/tappass"),
    ("postgres://app@db/tappass?password=s3cret&sslmode=require",
     "postgres://app@db/tappass?password=%2A%2A%2A&sslmode=require"),
    ("postgresql://db/tappass", "postgresql://db/tappass"),
])
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


async def test_postgres_connection_failure_masks_password() -> None:
    store = PostgresStore("postgresql://app:s3cret@127.0.0.1:1/tappass", connect_timeout=2)
    with pytest.raises(StorageError, match=r"127\.0\.0\.1:1/tappass") as caught:
        await store.open()
    assert "s3cret" not in str(caught.value)
    await store.close()


def test_postgres_rejects_other_schemes() -> None:
    with pytest.raises(ConfigError, match="postgres://"):
        PostgresStore("mysql://app:s3cret@db/tappass")
    assert PostgresStore("postgres://db/tappass").kind == "postgres"
