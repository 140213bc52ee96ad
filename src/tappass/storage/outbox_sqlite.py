"""The outbox on SQLite (see `tappass.forward.outbox`): rows, leases and dead letters.

`insert_rows` runs on the store's connection inside the audit transaction; the rest goes
through the store's lock like every other statement.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiosqlite

from tappass.forward.outbox import DEAD, PENDING, OutboxItem, OutboxRow, clip_error
from tappass.storage._rows import format_ts, parse_ts

if TYPE_CHECKING:
    from tappass.storage.sqlite import SqliteStore

_INSERT = ("INSERT INTO outbox (sink, event_id, payload, state, attempts, next_at, created_at) "
           "VALUES (?, ?, ?, 'pending', 0, ?, ?)")
_CLAIM = """INSERT INTO outbox_leases (sink, holder, lease_until) VALUES (?, ?, ?)
    ON CONFLICT (sink) DO UPDATE SET holder = excluded.holder,
    lease_until = excluded.lease_until
    WHERE outbox_leases.lease_until < ? OR outbox_leases.holder = excluded.holder"""
_PENDING = """SELECT o.seq, o.sink, o.event_id, COALESCE(o.payload, a.body) AS body,
    o.attempts, o.next_at FROM outbox o LEFT JOIN audit_events a ON a.id = o.event_id
    WHERE o.sink = ? AND o.state = 'pending' ORDER BY o.seq LIMIT ?"""
_FAILED = """UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_at = ?,
    state = CASE WHEN ? OR attempts + 1 >= ? THEN 'dead' ELSE 'pending' END
    WHERE seq = ?"""
_STATS = """SELECT sink, state, COUNT(*) AS n, MIN(created_at) AS oldest,
    MAX(last_error) AS last_error FROM outbox GROUP BY sink, state"""


def _params(rows: list[OutboxRow]) -> list[tuple[Any, ...]]:
    now = format_ts(datetime.now(UTC))
    return [(r.sink, r.event_id, r.payload, now, now) for r in rows]


async def insert_rows(conn: aiosqlite.Connection, rows: list[OutboxRow]) -> None:
    await conn.executemany(_INSERT, _params(rows))


async def append_with_rows(conn: aiosqlite.Connection, sql: str, params: list[Any],
                           rows: list[OutboxRow]) -> None:
    """Audit events and their outbox rows in one transaction, in ONE trip to the database
    thread (BEGIN, the events, the rows, COMMIT): four trips cost ~0.1 ms more per write.

    `Connection._execute` is how aiosqlite itself runs every call on its thread; it is not
    public, so tests/storage/test_outbox.py covers this path on every backend run."""
    outbox = _params(rows)

    def write() -> None:
        raw: sqlite3.Connection = conn._conn
        raw.execute("BEGIN IMMEDIATE")
        try:
            raw.execute(sql, params)
            raw.executemany(_INSERT, outbox)
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise

    await conn._execute(write)  # type: ignore[no-untyped-call]


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class SqliteOutbox:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def claim(self, sink: str, holder: str, seconds: float) -> bool:
        now = datetime.now(UTC)
        async with self._store._transaction("claim outbox lease") as conn:
            await conn.execute(_CLAIM, (sink, holder, format_ts(now + timedelta(seconds=seconds)),
                                        format_ts(now)))
            rows = list(await conn.execute_fetchall(
                "SELECT holder FROM outbox_leases WHERE sink = ?", (sink,)))
        return bool(rows) and rows[0]["holder"] == holder

    async def release(self, sink: str, holder: str) -> None:
        async with self._store._transaction("release outbox lease") as conn:
            await conn.execute("DELETE FROM outbox_leases WHERE sink = ? AND holder = ?",
                               (sink, holder))

    async def pending(self, sink: str, limit: int) -> list[OutboxItem]:
        rows = await self._store._fetch("read outbox", _PENDING, (sink, limit))
        return [OutboxItem(row["seq"], row["sink"], row["event_id"], row["body"],
                           row["attempts"], parse_ts(row["next_at"])) for row in rows]

    async def delivered(self, seqs: list[int]) -> None:
        if seqs:
            async with self._store._transaction("delete delivered outbox rows") as conn:
                await conn.execute(f"DELETE FROM outbox WHERE seq IN ({_marks(len(seqs))})",
                                   seqs)

    async def failed(self, seqs: list[int], error: str, next_at: datetime,
                     max_attempts: int, *, permanent: bool = False) -> int:
        if not seqs:
            return 0
        async with self._store._transaction("retry outbox rows") as conn:
            await conn.executemany(_FAILED, [(clip_error(error), format_ts(next_at), permanent,
                                              max_attempts, seq) for seq in seqs])
            rows = list(await conn.execute_fetchall(
                f"SELECT COUNT(*) AS n FROM outbox WHERE state = '{DEAD}' "
                f"AND seq IN ({_marks(len(seqs))})", seqs))
        return int(rows[0]["n"])

    async def stats(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row in await self._store._fetch("outbox stats", _STATS):
            entry = out.setdefault(row["sink"], {"pending": 0, "dead": 0,
                                                 "oldest_pending": None, "last_error": None})
            entry[row["state"]] = row["n"]
            if row["state"] == PENDING:
                entry["oldest_pending"] = row["oldest"]
            entry["last_error"] = entry["last_error"] or row["last_error"]
        return out

    async def requeue(self, sink: str | None = None) -> int:
        now = format_ts(datetime.now(UTC))
        async with self._store._transaction("requeue dead letters") as conn:
            cursor = await conn.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_at = ? "
                "WHERE state = 'dead' AND (? IS NULL OR sink = ?)", (now, sink, sink))
            return cursor.rowcount

    async def drop_sink(self, sink: str) -> int:
        async with self._store._transaction("drop outbox sink") as conn:
            cursor = await conn.execute("DELETE FROM outbox WHERE sink = ?", (sink,))
            await conn.execute("DELETE FROM outbox_leases WHERE sink = ?", (sink,))
            return cursor.rowcount
