"""SQLite store (`TAPPASS_STORAGE=local`, the default): one file, one aiosqlite connection.

The connection runs in WAL mode with synchronous=NORMAL and a busy timeout, so other
processes (the CLI) can read while the gateway writes. Python's implicit transactions are
off (`isolation_level=None`); every write runs in an explicit `BEGIN IMMEDIATE` ...
`COMMIT` under an asyncio lock, because the one connection is shared by all coroutines.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from tappass.errors import StorageError
from tappass.storage._migrations import Migration, load_migrations
from tappass.storage._probe import PROBE_META_KEY, PROBE_SAVEPOINT, probe_row
from tappass.storage._rows import (
    INTERRUPTED,
    OPEN_STATUS,
    agent_from_row,
    agent_params,
    agent_update_params,
    audit_conditions,
    duplicate_agent_error,
    duplicate_event_error,
    event_rows,
    format_ts,
    loads,
    missing_agent_error,
    missing_event_error,
    pipeline_from_row,
    pipeline_params,
    query_limit,
    secret_from_row,
)
from tappass.storage.base import AgentRecord, AuditQuery, PipelineRecord, SecretRecord

_CREATE_MIGRATIONS = """CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"""
_INSERT_AGENT = """INSERT INTO agents (id, name, preset, flags, enabled, key_prefix, key_hash,
    overrides, locked_flags, loosenable_flags, tools, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_UPDATE_AGENT = """UPDATE agents SET preset = ?, flags = ?, enabled = ?, key_prefix = ?,
    key_hash = ?, overrides = ?, locked_flags = ?, loosenable_flags = ?, tools = ?,
    updated_at = ? WHERE name = ?"""
_PIN_TOOL = """INSERT INTO tool_pins (agent_id, tool, sha256, pinned_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (agent_id, tool) DO NOTHING"""
_SET_META = """INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value"""
_SAVE_PIPELINE = """INSERT INTO pipelines (name, spec, created_at, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at"""
_SAVE_SECRET = """INSERT INTO vault_secrets (name, sealed, created_at, updated_at)
    VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed,
    updated_at = excluded.updated_at"""
_RESEAL_SECRET = "UPDATE vault_secrets SET sealed = ?, updated_at = ? WHERE name = ?"
_INSERT_EVENTS = "INSERT INTO audit_events (id, ts, agent, status, blocked, cost_usd, body) VALUES "
_EVENT_VALUES = "(?, ?, ?, ?, ?, ?, ?)"
_UPDATE_EVENT = """UPDATE audit_events SET status = ?, blocked = ?, cost_usd = ?, body = ?
    WHERE id = ?"""
_INTERRUPT_EVENTS = """UPDATE audit_events SET status = ?,
    body = json_set(body, '$.status', ?, '$.error', ?) WHERE status = ?"""
_MAX_EVENTS_PER_STATEMENT = 1000  # 7 parameters each, well under SQLite's 32,766 limit


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino


class SqliteStore:
    """Store in a SQLite file; the parent directory is created on `open()`."""

    kind = "local"

    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._identity: tuple[int, int] | None = None  # (device, inode) of the opened file

    async def open(self) -> None:
        if self._conn is not None:
            return
        conn = await self._connect()
        try:
            await self._configure(conn)
            self._identity = _identity(self.path)
            self._conn = conn
            for migration in load_migrations("sqlite"):
                async with self._transaction(f"migration {migration.name}") as tx:
                    await _apply(tx, migration)
        except BaseException:
            self._conn = None
            await conn.close()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def ping(self) -> None:
        """`SELECT 1`, and the file at the path is still the one the connection has open.

        An open SQLite connection keeps answering from a file that was deleted, moved away or
        replaced; everything written from then on would be lost with the process.
        """
        await self._fetch("ping", "SELECT 1")
        try:
            current = _identity(self.path)
        except OSError as exc:
            raise StorageError(f"SQLite database {self.path} is gone ({exc.strerror}); new "
                               f"writes would be lost: restore the file or restart the "
                               f"gateway") from None
        if current != self._identity:
            raise StorageError(f"SQLite database {self.path} was replaced by another file "
                               f"while the gateway runs: restart the gateway")

    async def applied_migrations(self) -> list[str]:
        rows = await self._fetch("read migrations",
                                 "SELECT name FROM schema_migrations ORDER BY name")
        return [row["name"] for row in rows]

    # -- meta ----------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        rows = await self._fetch("read meta", "SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self._transaction("write meta") as conn:
            await conn.execute(_SET_META, (key, value))

    # -- agents --------------------------------------------------------------------------

    async def create_agent(self, agent: AgentRecord) -> None:
        async with self._transaction("create agent") as conn:
            try:
                await conn.execute(_INSERT_AGENT, agent_params(agent, format_ts))
            except sqlite3.IntegrityError as exc:
                raise duplicate_agent_error(agent, _violated_column(exc)) from exc

    async def get_agent(self, name: str) -> AgentRecord | None:
        rows = await self._fetch("read agent", "SELECT * FROM agents WHERE name = ?", (name,))
        return agent_from_row(rows[0]) if rows else None

    async def get_agent_by_key_prefix(self, key_prefix: str) -> AgentRecord | None:
        rows = await self._fetch("read agent", "SELECT * FROM agents WHERE key_prefix = ?",
                                 (key_prefix,))
        return agent_from_row(rows[0]) if rows else None

    async def list_agents(self) -> list[AgentRecord]:
        rows = await self._fetch("list agents", "SELECT * FROM agents ORDER BY name")
        return [agent_from_row(row) for row in rows]

    async def update_agent(self, agent: AgentRecord) -> None:
        async with self._transaction("update agent") as conn:
            try:
                cursor = await conn.execute(_UPDATE_AGENT, agent_update_params(agent, format_ts))
            except sqlite3.IntegrityError as exc:
                raise duplicate_agent_error(agent, _violated_column(exc)) from exc
            if cursor.rowcount == 0:
                raise missing_agent_error(agent.name)

    async def delete_agent(self, name: str) -> bool:
        async with self._transaction("delete agent") as conn:
            await conn.execute("DELETE FROM tool_pins WHERE agent_id IN "
                               "(SELECT id FROM agents WHERE name = ?)", (name,))
            cursor = await conn.execute("DELETE FROM agents WHERE name = ?", (name,))
            return cursor.rowcount > 0

    async def tool_pins(self, agent_id: str) -> dict[str, str]:
        rows = await self._fetch("read tool pins", "SELECT tool, sha256 FROM tool_pins "
                                 "WHERE agent_id = ?", (agent_id,))
        return {row["tool"]: row["sha256"] for row in rows}

    async def pin_tool(self, agent_id: str, tool: str, sha256: str) -> str:
        async with self._transaction("pin tool") as conn:
            await conn.execute(_PIN_TOOL, (agent_id, tool, sha256, format_ts(datetime.now(UTC))))
            rows = await conn.execute_fetchall("SELECT sha256 FROM tool_pins WHERE agent_id = ? "
                                               "AND tool = ?", (agent_id, tool))
        return str(list(rows)[0]["sha256"])

    async def clear_tool_pins(self, agent_id: str) -> int:
        async with self._transaction("clear tool pins") as conn:
            cursor = await conn.execute("DELETE FROM tool_pins WHERE agent_id = ?", (agent_id,))
            return cursor.rowcount

    # -- pipelines -----------------------------------------------------------------------

    async def save_pipeline(self, pipeline: PipelineRecord) -> None:
        params = pipeline_params(pipeline, format_ts)
        async with self._transaction("save pipeline") as conn:
            await conn.execute(_SAVE_PIPELINE, params)

    async def get_pipeline(self, name: str) -> PipelineRecord | None:
        rows = await self._fetch("read pipeline", "SELECT * FROM pipelines WHERE name = ?",
                                 (name,))
        return pipeline_from_row(rows[0]) if rows else None

    async def list_pipelines(self) -> list[PipelineRecord]:
        rows = await self._fetch("list pipelines", "SELECT * FROM pipelines ORDER BY name")
        return [pipeline_from_row(row) for row in rows]

    async def delete_pipeline(self, name: str) -> bool:
        async with self._transaction("delete pipeline") as conn:
            cursor = await conn.execute("DELETE FROM pipelines WHERE name = ?", (name,))
            return cursor.rowcount > 0

    # -- audit ---------------------------------------------------------------------------

    async def append_audit(self, events: list[dict[str, Any]]) -> None:
        rows = event_rows(events)
        if not rows:
            return
        if len(rows) > _MAX_EVENTS_PER_STATEMENT:
            raise StorageError(f"at most {_MAX_EVENTS_PER_STATEMENT} audit events per batch")
        # One multi-row INSERT is one statement: atomic on its own in autocommit mode, and
        # one trip to the database thread instead of three (BEGIN, insert, COMMIT) on the
        # request's critical path.
        sql = _INSERT_EVENTS + ", ".join([_EVENT_VALUES] * len(rows))
        params = [value for row in rows for value in (
            row.id, format_ts(row.ts), row.agent, row.status, row.blocked, row.cost_usd,
            row.body)]
        conn = self._connection()
        async with self._lock:
            try:
                await conn.execute(sql, params)
            except sqlite3.IntegrityError as exc:
                raise duplicate_event_error(str(exc)) from exc
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite append audit events failed on {self.path}: "
                                   f"{exc}") from exc

    async def update_audit(self, events: list[dict[str, Any]]) -> None:
        rows = event_rows(events)
        if not rows:
            return
        async with self._transaction("update audit events") as conn:
            missing = [row.id for row in rows if (await conn.execute(_UPDATE_EVENT, (
                row.status, row.blocked, row.cost_usd, row.body, row.id))).rowcount == 0]
            if missing:
                raise missing_event_error(missing)

    async def interrupt_open_audit(self) -> int:
        async with self._transaction("mark interrupted audit events") as conn:
            cursor = await conn.execute(_INTERRUPT_EVENTS, (
                INTERRUPTED["status"], INTERRUPTED["status"], INTERRUPTED["error"],
                OPEN_STATUS))
            return cursor.rowcount

    async def probe_audit_write(self) -> None:
        row, now = probe_row()
        async with self._transaction("audit write probe") as conn:
            await conn.execute(f"SAVEPOINT {PROBE_SAVEPOINT}")
            await conn.execute(_INSERT_EVENTS + _EVENT_VALUES, (
                row.id, format_ts(row.ts), row.agent, row.status, row.blocked, row.cost_usd,
                row.body))
            await conn.execute(f"ROLLBACK TO {PROBE_SAVEPOINT}")
            await conn.execute(f"RELEASE {PROBE_SAVEPOINT}")
            await conn.execute(_SET_META, (PROBE_META_KEY, format_ts(now)))

    async def query_audit(self, query: AuditQuery) -> list[dict[str, Any]]:
        conditions = audit_conditions(query)
        where = " AND ".join(f"{condition} ?" for condition, _ in conditions) or "1 = 1"
        params = [_param(value) for _, value in conditions] + [query_limit(query)]
        rows = await self._fetch("query audit events",
                                 f"SELECT body FROM audit_events WHERE {where} "
                                 "ORDER BY ts DESC, seq DESC LIMIT ?", params)
        return [loads(row["body"]) for row in rows]

    async def audit_page(self, after_position: int, limit: int,
                         query: AuditQuery | None = None) -> list[tuple[int, dict[str, Any]]]:
        conditions = [("seq >", after_position), *audit_conditions(query or AuditQuery())]
        where = " AND ".join(f"{condition} ?" for condition, _ in conditions)
        params = [_param(value) for _, value in conditions] + [max(limit, 0)]
        rows = await self._fetch("page audit events",
                                 f"SELECT seq, body FROM audit_events WHERE {where} "
                                 "ORDER BY seq LIMIT ?", params)
        return [(row["seq"], loads(row["body"])) for row in rows]

    async def sum_cost(self, agent: str, since: datetime) -> float:
        rows = await self._fetch("sum cost",
                                 "SELECT COALESCE(SUM(cost_usd), 0.0) AS total FROM audit_events "
                                 "WHERE agent = ? AND ts >= ?", (agent, format_ts(since)))
        return float(rows[0]["total"])

    # -- vault ---------------------------------------------------------------------------

    async def list_secrets(self) -> list[SecretRecord]:
        rows = await self._fetch("list vault secrets",
                                 "SELECT * FROM vault_secrets ORDER BY name")
        return [secret_from_row(row) for row in rows]

    async def save_secret(self, secret: SecretRecord) -> None:
        async with self._transaction("save vault secret") as conn:
            await conn.execute(_SAVE_SECRET, (secret.name, secret.sealed,
                                              format_ts(secret.created_at),
                                              format_ts(secret.updated_at)))

    async def delete_secret(self, name: str) -> bool:
        async with self._transaction("delete vault secret") as conn:
            cursor = await conn.execute("DELETE FROM vault_secrets WHERE name = ?", (name,))
            return cursor.rowcount > 0

    async def reseal_secrets(self, secrets: list[SecretRecord]) -> None:
        async with self._transaction("re-encrypt vault secrets") as conn:
            for secret in secrets:
                await conn.execute(_RESEAL_SECRET, (secret.sealed, format_ts(secret.updated_at),
                                                    secret.name))

    # -- helpers -------------------------------------------------------------------------

    async def _connect(self) -> aiosqlite.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(self.path, timeout=self._busy_timeout,
                                           isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open SQLite database {self.path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        return conn

    async def _configure(self, conn: aiosqlite.Connection) -> None:
        """WAL + synchronous=NORMAL. Switching a new file to WAL can fail with "database is
        locked" without waiting for the busy timeout while another connection does the same,
        so that one pragma is retried until the timeout."""
        deadline = asyncio.get_running_loop().time() + self._busy_timeout
        try:
            while not await _try_enable_wal(conn, deadline):
                await asyncio.sleep(0.01)
            await conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot configure SQLite database {self.path}: {exc}") from exc

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError(f"SQLite store {self.path} is not open: call open() first")
        return self._conn

    @asynccontextmanager
    async def _transaction(self, action: str) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction; rolled back on any error, sqlite3 errors become StorageError."""
        conn = self._connection()
        async with self._lock:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    await conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite {action} failed on {self.path}: {exc}") from exc

    async def _fetch(self, action: str, sql: str,
                     params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        conn = self._connection()
        async with self._lock:
            try:
                return list(await conn.execute_fetchall(sql, tuple(params)))
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite {action} failed on {self.path}: {exc}") from exc


async def _apply(conn: aiosqlite.Connection, migration: Migration) -> None:
    """Run one migration inside the caller's transaction unless it is already recorded."""
    await conn.execute(_CREATE_MIGRATIONS)
    applied = await conn.execute_fetchall("SELECT 1 FROM schema_migrations WHERE name = ?",
                                          (migration.name,))
    if list(applied):
        return
    for statement in split_statements(migration.sql):
        await conn.execute(statement)
    await conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                       (migration.name, format_ts(datetime.now(UTC))))


async def _try_enable_wal(conn: aiosqlite.Connection, deadline: float) -> bool:
    """True once WAL is on; False when the file was locked and there is time to retry."""
    try:
        await conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) and asyncio.get_running_loop().time() < deadline:
            return False
        raise
    return True


def split_statements(sql: str) -> list[str]:
    """Complete SQL statements of a script (sqlite3 runs one statement per execute).

    `executescript` would commit first, which would put the migration outside our
    transaction, so the script is split with sqlite's own completeness check.
    """
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not _only_comments(pending):
        statements.append(pending.strip())
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


def _violated_column(exc: sqlite3.IntegrityError) -> str:
    """Which unique agent column an IntegrityError is about ("UNIQUE ... failed: agents.x")."""
    message = str(exc)
    for column in ("key_prefix", "name", "id"):
        if f"agents.{column}" in message:
            return column
    return "name"


def _param(value: Any) -> Any:
    return format_ts(value) if isinstance(value, datetime) else value
