"""The outbox on PostgreSQL (see `tappass.forward.outbox`): rows, leases and dead letters.

`insert_rows` runs on the connection of the audit transaction. The lease is one row per
sink taken with a conditional upsert, so one sender per sink runs across every worker and
host on the database, without a lock held while it waits on the network.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from tappass.forward.outbox import PENDING, OutboxItem, OutboxRow, clip_error
from tappass.storage._rows import format_ts

if TYPE_CHECKING:
    from tappass.storage.postgres import PostgresStore

_INSERT = ("INSERT INTO outbox (sink, event_id, payload, state, attempts, next_at, created_at) "
           "VALUES ($1, $2, $3, 'pending', 0, $4, $4)")
_CLAIM = """INSERT INTO outbox_leases (sink, holder, lease_until) VALUES ($1, $2, $3)
    ON CONFLICT (sink) DO UPDATE SET holder = excluded.holder,
    lease_until = excluded.lease_until
    WHERE outbox_leases.lease_until < now() OR outbox_leases.holder = excluded.holder
    RETURNING holder"""
_PENDING = """SELECT o.seq, o.sink, o.event_id, COALESCE(o.payload, a.body::text) AS body,
    o.attempts, o.next_at FROM outbox o LEFT JOIN audit_events a ON a.id = o.event_id
    WHERE o.sink = $1 AND o.state = 'pending' ORDER BY o.seq LIMIT $2"""
_FAILED = """UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_at = $2,
    state = CASE WHEN $3 OR attempts + 1 >= $4 THEN 'dead' ELSE 'pending' END
    WHERE seq = ANY($5::bigint[]) RETURNING state"""
_STATS = """SELECT sink, state, COUNT(*) AS n, MIN(created_at) AS oldest,
    MAX(last_error) AS last_error FROM outbox GROUP BY sink, state"""


async def insert_rows(conn: asyncpg.Connection, rows: list[OutboxRow]) -> None:
    now = datetime.now(UTC)
    await conn.executemany(_INSERT, [(r.sink, r.event_id, r.payload, now) for r in rows])


class PostgresOutbox:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def claim(self, sink: str, holder: str, seconds: float) -> bool:
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        async with self._store._connection("claim outbox lease") as conn:
            won: str | None = await conn.fetchval(_CLAIM, sink, holder, until)
        return won == holder

    async def release(self, sink: str, holder: str) -> None:
        async with self._store._connection("release outbox lease") as conn:
            await conn.execute("DELETE FROM outbox_leases WHERE sink = $1 AND holder = $2",
                               sink, holder)

    async def pending(self, sink: str, limit: int) -> list[OutboxItem]:
        async with self._store._connection("read outbox") as conn:
            rows = await conn.fetch(_PENDING, sink, limit)
        return [OutboxItem(row["seq"], row["sink"], row["event_id"], row["body"],
                           row["attempts"], row["next_at"]) for row in rows]

    async def delivered(self, seqs: list[int]) -> None:
        if seqs:
            async with self._store._connection("delete delivered outbox rows") as conn:
                await conn.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", seqs)

    async def failed(self, seqs: list[int], error: str, next_at: datetime,
                     max_attempts: int, *, permanent: bool = False) -> int:
        if not seqs:
            return 0
        async with self._store._connection("retry outbox rows", transaction=True) as conn:
            states = await conn.fetch(_FAILED, clip_error(error), next_at, permanent,
                                      max_attempts, seqs)
        return sum(1 for row in states if row["state"] != PENDING)

    async def stats(self) -> dict[str, dict[str, Any]]:
        async with self._store._connection("outbox stats") as conn:
            rows = await conn.fetch(_STATS)
        out: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = out.setdefault(row["sink"], {"pending": 0, "dead": 0,
                                                 "oldest_pending": None, "last_error": None})
            entry[row["state"]] = row["n"]
            if row["state"] == PENDING:
                entry["oldest_pending"] = format_ts(row["oldest"])
            entry["last_error"] = entry["last_error"] or row["last_error"]
        return out

    async def requeue(self, sink: str | None = None) -> int:
        async with self._store._connection("requeue dead letters") as conn:
            status = await conn.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_at = now() "
                "WHERE state = 'dead' AND ($1::text IS NULL OR sink = $1)", sink)
        return int(status.rsplit(" ", 1)[-1])

    async def drop_sink(self, sink: str) -> int:
        async with self._store._connection("drop outbox sink", transaction=True) as conn:
            status = await conn.execute("DELETE FROM outbox WHERE sink = $1", sink)
            await conn.execute("DELETE FROM outbox_leases WHERE sink = $1", sink)
        return int(status.rsplit(" ", 1)[-1])
