"""`probe_audit_write()`: a real write that leaves no audit event, and fails when audit
inserts fail (every backend; the failure is a real database trigger, not a stub)."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from tappass.errors import StorageError
from tappass.storage._probe import PROBE_META_KEY
from tappass.storage.base import AuditQuery, Store
from tappass.storage.postgres import PostgresStore
from tappass.storage.sqlite import SqliteStore

SQLITE_TRIGGER = ("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN "
                  "SELECT RAISE(ABORT, 'database or disk is full'); END")
POSTGRES_TRIGGER = """
CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events
  FOR EACH ROW EXECUTE FUNCTION fail_audit();
"""


async def _run_sql(store: Store, sql: str) -> None:
    """Change the schema from a second connection, as an operator (or a full disk) would."""
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path)
        try:
            conn.execute(sql)
            conn.commit()
        finally:
            conn.close()
    elif isinstance(store, PostgresStore):
        pg = await asyncpg.connect(store.url)
        try:
            await pg.execute(sql)
        finally:
            await pg.close()
    else:
        pytest.skip("the memory store cannot fail a write")


async def test_probe_records_its_time_and_leaves_no_event(store: Store) -> None:
    await store.probe_audit_write()
    first = await store.get_meta(PROBE_META_KEY)
    await store.probe_audit_write()
    second = await store.get_meta(PROBE_META_KEY)
    assert first is not None and second is not None and first < second
    assert await store.query_audit(AuditQuery(limit=10)) == []


async def test_probe_fails_while_audit_inserts_fail_and_passes_after(store: Store) -> None:
    await store.probe_audit_write()
    before = await store.get_meta(PROBE_META_KEY)
    await _run_sql(store, SQLITE_TRIGGER if store.kind == "local" else POSTGRES_TRIGGER)
    with pytest.raises(StorageError, match="audit write probe failed.*(disk is full|No space)"):
        await store.probe_audit_write()
    assert await store.get_meta(PROBE_META_KEY) == before  # the whole transaction rolled back
    await store.ping()  # the store is still usable: nothing was left half-open
    await _run_sql(store, "DROP TRIGGER fail_audit" if store.kind == "local"
                   else "DROP TRIGGER fail_audit ON audit_events")
    await store.probe_audit_write()
    assert await store.get_meta(PROBE_META_KEY) != before
    assert await store.query_audit(AuditQuery(limit=10)) == []
