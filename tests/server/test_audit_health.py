"""The audit recorder's health: failing writes start a failing period, a write or a probe
that commits ends it; probes are rate-limited. A real SQLite store fails through a trigger."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tappass.audit.health import MAX_ERROR_CHARS, AuditHealth
from tappass.audit.recorder import AuditRecorder
from tappass.errors import StorageError
from tappass.storage.base import AuditQuery
from tappass.storage.sqlite import SqliteStore

FAIL_AUDIT = ("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN "
              "SELECT RAISE(ABORT, 'database or disk is full'); END")


def run_sql(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def event(n: int) -> dict[str, Any]:
    return {"id": f"ae_{n:04d}", "timestamp": datetime.now(UTC).isoformat(), "agent": "a",
            "status": "allowed", "blocked": False, "cost_usd": None}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "tappass.db")
    await opened.open()
    yield opened
    await opened.close()


async def recorder(store: SqliteStore, probe_interval: float) -> AuditRecorder:
    audit = AuditRecorder(store, probe_interval=probe_interval)
    audit.start()
    return audit


async def test_a_failed_write_starts_failing_and_a_committed_write_ends_it(
        store: SqliteStore) -> None:
    audit = await recorder(store, probe_interval=3600)
    await audit.record(event(1))
    assert not audit.health.failing and await audit.writable(1.0)
    run_sql(store.path, FAIL_AUDIT)
    with pytest.raises(StorageError, match="disk is full"):
        await audit.record(event(2))
    state = audit.health.as_dict()
    assert state["status"] == "failing" and state["failed_attempts"] == 1
    assert "database or disk is full" in state["last_error"]
    run_sql(store.path, "DROP TRIGGER fail_audit")
    await audit.record(event(3))   # traffic alone also ends the failing period
    assert audit.health.as_dict()["status"] == "ok" and audit.health.failing_periods == 1
    await audit.close()


async def test_writable_probes_at_most_once_per_interval(store: SqliteStore) -> None:
    audit = await recorder(store, probe_interval=3600)
    run_sql(store.path, FAIL_AUDIT)
    with pytest.raises(StorageError):
        await audit.record(event(1))
    assert not await audit.writable(1.0)          # the probe ran and failed too
    assert audit.health.failed_attempts == 2
    run_sql(store.path, "DROP TRIGGER fail_audit")
    assert not await audit.writable(1.0)          # no second probe within the interval
    assert audit.health.failed_attempts == 2 and audit.health.failing
    await audit.close()


async def test_a_committed_probe_ends_the_failing_period_without_traffic(
        store: SqliteStore) -> None:
    audit = await recorder(store, probe_interval=0)
    run_sql(store.path, FAIL_AUDIT)
    with pytest.raises(StorageError):
        await audit.record(event(1))
    assert not await audit.writable(1.0)
    run_sql(store.path, "DROP TRIGGER fail_audit")
    assert await audit.writable(1.0)
    assert not audit.health.failing and audit.health.last_success_at is not None
    assert await store.query_audit(AuditQuery()) == []   # probes leave no audit event
    await audit.close()


def test_the_kept_error_is_one_bounded_line() -> None:
    health = AuditHealth()
    health.failed(StorageError("first line\nsecond line " + "x" * 1000))
    assert health.last_error is not None and "\n" not in health.last_error
    assert len(health.last_error) == MAX_ERROR_CHARS
    assert "disk" not in health.summary() and "failing since" in health.summary()
