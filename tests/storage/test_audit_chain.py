"""The tamper-evident audit trail on real stores: events written through the recorder
verify; a flipped byte, a deleted row, a swapped pair and an inserted row are each found
with the right event id; two writers on one database make two chains that both verify."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tappass.audit.chain import AuditChain, jsonl_line
from tappass.audit.recorder import AuditRecorder
from tappass.audit.signing import CheckpointSigner
from tappass.audit.verify import Report, verify_lines, verify_store
from tappass.storage.base import AuditQuery, Store
from tappass.storage.memory import MemoryStore
from tappass.storage.postgres import PostgresStore
from tappass.storage.sqlite import SqliteStore
from tests.support.postgres import fresh_postgres_schema

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
KEY = Ed25519PrivateKey.generate()


@pytest.fixture(params=SQL_BACKENDS)
def new_sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    if request.param == "sqlite":
        path = tmp_path / "tappass.db"
        return lambda: SqliteStore(path)
    url = fresh_postgres_schema(request.getfixturevalue("postgres_database"))
    return lambda: PostgresStore(url)


@pytest.fixture
async def sql_store(new_sql_store: Callable[[], Store]) -> AsyncIterator[Store]:
    store = new_sql_store()
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def make_event(n: int, status: str = "allowed", **changes: Any) -> dict[str, Any]:
    ts = (datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=n)).isoformat()
    return {"id": f"ae_{n:04d}", "timestamp": ts.replace("+00:00", "Z"), "agent": "bot",
            "status": status, "blocked": status == "blocked", "cost_usd": 0.001 * n,
            "model": "gpt-4o-mini", "steps": [{"step": "detect_pii", "verdict": "pass",
                                                "duration_ms": 0.25 * n}],
            "latency_ms": {"total": 12.5, "upstream": None}, "note": "naïve ✓", **changes}


async def write_events(store: Store, count: int, *, checkpoint_events: int = 5,
                       chain: AuditChain | None = None) -> AuditChain:
    chain = chain or AuditChain(CheckpointSigner(KEY), checkpoint_events=checkpoint_events)
    recorder = AuditRecorder(store, chain=chain)
    recorder.start()
    try:
        for n in range(1, count + 1):
            await recorder.record(make_event(n))
    finally:
        await recorder.close()
    return chain


async def execute(store: Store, sql: str, *params: Any) -> None:
    """Raw SQL on the store's database, as an admin with database access would."""
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path)
        try:
            conn.execute(sql, params)
            conn.commit()
        finally:
            conn.close()
        return
    assert isinstance(store, PostgresStore)
    pg = await asyncpg.connect(store.url)
    try:
        await pg.execute(_numbered(sql), *params)
    finally:
        await pg.close()


def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(part + (f"${i}" if i < len(parts) else "")
                   for i, part in enumerate(parts, 1))


async def body_of(store: Store, event_id: str) -> str:
    for _, event in await store.audit_page(0, 1000):
        if event["id"] == event_id:
            return orjson.dumps(event).decode()
    raise AssertionError(f"{event_id} not stored")


def problem(report: Report) -> tuple[str, str | None]:
    assert report.problem is not None, report.as_dict()
    return report.problem.kind, report.problem.event_id


async def test_written_events_verify_with_counts_and_signed_checkpoints(sql_store: Store) -> None:
    chain = await write_events(sql_store, 12, checkpoint_events=5)
    report = await verify_store(sql_store, KEY.public_key())
    assert report.ok, report.as_dict()
    assert (report.events, report.chained, report.legacy) == (12, 12, 0)
    assert report.checkpoints == chain.checkpoints == 3  # genesis, then at 6 and 11
    assert chain.info()["last_checkpoint_seq"] == 11
    (writer,) = report.writers.values()
    assert writer["events"] == 12


async def test_a_flipped_byte_is_an_edited_event(sql_store: Store) -> None:
    await write_events(sql_store, 8)
    body = await body_of(sql_store, "ae_0005")
    await execute(sql_store, "UPDATE audit_events SET body = ? WHERE id = ?",
                  body.replace("gpt-4o-mini", "gpt-4o-mino"), "ae_0005")
    assert problem(await verify_store(sql_store, KEY.public_key())) == ("edited", "ae_0005")


async def test_a_deleted_row_is_named_by_the_event_that_chains_to_it(sql_store: Store) -> None:
    await write_events(sql_store, 8)
    await execute(sql_store, "DELETE FROM audit_events WHERE id = ?", "ae_0004")
    assert problem(await verify_store(sql_store, KEY.public_key())) == ("deleted", "ae_0004")


async def test_a_swapped_pair_is_reordered(sql_store: Store) -> None:
    await write_events(sql_store, 8)
    first, second = await body_of(sql_store, "ae_0003"), await body_of(sql_store, "ae_0004")
    # the two rows' contents change places (row positions stay): ae_0004 now comes first
    await execute(sql_store, "UPDATE audit_events SET id = 'tmp', body = ? WHERE id = ?",
                  second, "ae_0003")
    await execute(sql_store, "UPDATE audit_events SET id = ?, body = ? WHERE id = ?",
                  "ae_0003", first, "ae_0004")
    await execute(sql_store, "UPDATE audit_events SET id = ? WHERE id = 'tmp'", "ae_0004")
    assert problem(await verify_store(sql_store, KEY.public_key())) == ("reordered", "ae_0004")


async def test_an_inserted_unchained_row_is_an_insertion(sql_store: Store) -> None:
    await write_events(sql_store, 6)
    forged = make_event(99)
    await execute(sql_store, "INSERT INTO audit_events (id, ts, agent, status, blocked, "
                  "cost_usd, body) VALUES (?, ?, ?, ?, ?, ?, ?)", forged["id"],
                  datetime(2026, 12, 1, 0, 0, 3, tzinfo=UTC)
                  if isinstance(sql_store, PostgresStore) else "2026-12-01T00:00:03.000000Z",
                  "bot", "allowed", False, 0.0, orjson.dumps(forged).decode())
    assert problem(await verify_store(sql_store, KEY.public_key())) == ("inserted", "ae_0099")


async def test_an_inserted_row_with_a_forged_link_is_an_insertion(sql_store: Store) -> None:
    """A row made to look chained (hashes recomputed, no key) at a taken position."""
    chain = await write_events(sql_store, 6)
    forger = AuditChain(writer=chain.writer)
    events = [make_event(n) for n in range(1, 4)]
    events[-1]["id"] = "ae_forged"
    forger.commit(forger.seal(events, completion=False))   # positions 1..3, the last forged
    await sql_store.append_audit([events[-1]])
    report = await verify_store(sql_store, KEY.public_key())
    assert problem(report) == ("inserted", "ae_forged")


async def test_rows_from_before_the_chain_are_legacy_not_tampering(
        new_sql_store: Callable[[], Store]) -> None:
    store = new_sql_store()
    await store.open()
    try:
        await store.append_audit([make_event(101), make_event(102)])  # as an old gateway did
        await execute(store, "UPDATE meta SET value = '2' WHERE key = ?",
                      "audit_chain_legacy_until")
        await write_events(store, 3)
        report = await verify_store(store, KEY.public_key())
    finally:
        await store.close()
    assert report.ok, report.as_dict()
    assert (report.legacy, report.chained) == (2, 3)


async def test_checkpoints_do_not_verify_with_another_key(sql_store: Store) -> None:
    await write_events(sql_store, 4)
    other = Ed25519PrivateKey.generate().public_key()
    kind, event_id = problem(await verify_store(sql_store, other))
    assert (kind, event_id) == ("signature", "ae_0001")


async def test_a_forged_signature_with_the_right_key_id_does_not_verify(
        sql_store: Store) -> None:
    chain = await write_events(sql_store, 3)
    forger = AuditChain(CheckpointSigner(Ed25519PrivateKey.generate()), writer=chain.writer)
    events = [make_event(n) for n in range(1, 2)]
    forger.seal(events, completion=False)
    body = orjson.loads(await body_of(sql_store, "ae_0001"))
    body["chain"]["sig"] = events[0]["chain"]["sig"]  # same link, key id left as it was
    await execute(sql_store, "UPDATE audit_events SET body = ? WHERE id = ?",
                  orjson.dumps(body).decode(), "ae_0001")
    assert problem(await verify_store(sql_store, KEY.public_key())) == ("signature", "ae_0001")


async def test_two_writers_on_one_database_make_two_chains_that_verify(
        new_sql_store: Callable[[], Store]) -> None:
    stores = [new_sql_store(), new_sql_store()]
    for store in stores:
        await store.open()
    try:
        recorders = [AuditRecorder(store, chain=AuditChain(CheckpointSigner(KEY),
                                                           checkpoint_events=4))
                     for store in stores]
        for recorder in recorders:
            recorder.start()
        await asyncio.gather(*(recorders[n % 2].record(make_event(n)) for n in range(1, 41)))
        for recorder in recorders:
            await recorder.close()
        report = await verify_store(stores[0], KEY.public_key())
    finally:
        for store in stores:
            await store.close()
    assert report.ok, report.as_dict()
    assert report.chained == 40
    assert sorted(w["events"] for w in report.writers.values()) == [20, 20]


async def test_a_completed_stream_keeps_its_open_link_and_chains_its_outcome(
        sql_store: Store) -> None:
    chain = AuditChain(CheckpointSigner(KEY), checkpoint_events=100)
    recorder = AuditRecorder(sql_store, chain=chain)
    recorder.start()
    await recorder.record(make_event(1, status="open"))
    await recorder.record(make_event(2))
    await recorder.complete(make_event(1, status="allowed", cost_usd=0.5))
    await recorder.record(make_event(3))
    await recorder.close()
    report = await verify_store(sql_store, KEY.public_key())
    assert report.ok, report.as_dict()
    assert report.links == 4 and chain.seq == 4
    body = orjson.loads(await body_of(sql_store, "ae_0001"))
    await execute(sql_store, "UPDATE audit_events SET body = ? WHERE id = ?",
                  orjson.dumps({**body, "cost_usd": 0.05}).decode(), "ae_0001")
    assert problem(await verify_store(sql_store, KEY.public_key())) == ("edited", "ae_0001")


async def test_an_open_stream_interrupted_by_a_restart_still_verifies(sql_store: Store) -> None:
    recorder = AuditRecorder(sql_store, chain=AuditChain(CheckpointSigner(KEY)))
    recorder.start()
    await recorder.record(make_event(1, status="open", error=None))
    await recorder.record(make_event(2))
    await recorder.close()
    assert await sql_store.interrupt_open_audit() == 1
    report = await verify_store(sql_store, KEY.public_key())
    assert report.ok, report.as_dict()


async def test_an_export_verifies_offline_and_its_tampering_is_found(sql_store: Store) -> None:
    await write_events(sql_store, 6)
    lines = [jsonl_line(event) for _, event in await sql_store.audit_page(0, 100)]
    assert verify_lines(lines, KEY.public_key()).ok
    swapped = [*lines[:2], lines[3], lines[2], *lines[4:]]
    assert problem(verify_lines(swapped, KEY.public_key())) == ("reordered", "ae_0004")
    assert problem(verify_lines(lines[:2] + lines[3:], KEY.public_key())) == ("deleted",
                                                                             "ae_0003")
    edited = [*lines[:4], lines[4].replace(b'"bot"', b'"tob"'), lines[5]]
    assert problem(verify_lines(edited, KEY.public_key())) == ("edited", "ae_0005")
    inserted = [*lines[:3], jsonl_line(make_event(50)), *lines[3:]]
    assert problem(verify_lines(inserted, KEY.public_key())) == ("inserted", "ae_0050")


class _Hiding(MemoryStore):
    """A live PostgreSQL as a pass sees it: a row committed just after the pass paged past
    its position (hidden in the first `passes` passes)."""

    def __init__(self, hidden: str, passes: int) -> None:
        super().__init__()
        self.hidden, self.passes, self.pass_number = hidden, passes, 0

    async def audit_page(self, after_position: int, limit: int,
                         query: AuditQuery | None = None) -> list[tuple[int, dict[str, Any]]]:
        if after_position == 0:
            self.pass_number += 1
        page = await super().audit_page(after_position, limit, query)
        if self.pass_number > self.passes:
            return page
        return [(position, event) for position, event in page if event["id"] != self.hidden]


@pytest.mark.parametrize(("passes", "ok"), [(1, True), (10, False)])
async def test_a_position_committed_during_a_pass_is_not_a_deletion(passes: int,
                                                                     ok: bool) -> None:
    store = _Hiding("ae_0003", passes)
    await store.open()
    await write_events(store, 6)
    report = await verify_store(store, KEY.public_key())
    assert report.ok is ok
    if not ok:
        assert problem(report) == ("deleted", "ae_0003")   # still missing: a real deletion
