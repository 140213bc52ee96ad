"""PostgreSQL store (`TAPPASS_STORAGE=postgres`): an asyncpg connection pool.

Imported only when this backend is chosen, so asyncpg stays an optional extra. Migrations
run under a transaction-scoped advisory lock, so gateways starting together against one
database apply each migration exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from tappass.errors import ConfigError, StorageError
from tappass.storage._migrations import Migration, load_migrations
from tappass.storage._probe import PROBE_META_KEY, PROBE_SAVEPOINT, probe_row
from tappass.storage._rows import (
    INTERRUPTED,
    OPEN_STATUS,
    agent_from_row,
    agent_params,
    agent_update_params,
    audit_conditions,
    dumps,
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
    to_utc,
)
from tappass.storage.base import AgentRecord, AuditQuery, PipelineRecord, SecretRecord

SCHEMES = ("postgres://", "postgresql://")
# Arbitrary constant shared by every TapPass process: the key of the migration lock.
_MIGRATION_LOCK = 0x7A9_9A55
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
_CONSTRAINT_COLUMNS = {"agents_pkey": "id", "agents_name_key": "name",
                       "agents_key_prefix_key": "key_prefix"}

_CREATE_MIGRATIONS = """CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"""
_INSERT_AGENT = """INSERT INTO agents (id, name, preset, flags, enabled, key_prefix, key_hash,
    overrides, locked_flags, loosenable_flags, tools, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"""
_UPDATE_AGENT = """UPDATE agents SET preset = $1, flags = $2, enabled = $3, key_prefix = $4,
    key_hash = $5, overrides = $6, locked_flags = $7, loosenable_flags = $8, tools = $9,
    updated_at = $10 WHERE name = $11"""
# the pinned hash whether this insert won or an earlier one did (one statement, no race)
_PIN_TOOL = """WITH new AS (INSERT INTO tool_pins (agent_id, tool, sha256, pinned_at)
    VALUES ($1, $2, $3, $4) ON CONFLICT (agent_id, tool) DO NOTHING RETURNING sha256)
    SELECT sha256 FROM new UNION ALL
    SELECT sha256 FROM tool_pins WHERE agent_id = $1 AND tool = $2 LIMIT 1"""
_SET_META = """INSERT INTO meta (key, value) VALUES ($1, $2)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value"""
_SAVE_PIPELINE = """INSERT INTO pipelines (name, spec, created_at, updated_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at"""
# "C" collation: code-point order, as SQLite and the memory store sort, whatever the
# database's locale.
_LIST_PIPELINES = 'SELECT * FROM pipelines ORDER BY name COLLATE "C"'
_SAVE_SECRET = """INSERT INTO vault_secrets (name, sealed, created_at, updated_at)
    VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed,
    updated_at = excluded.updated_at"""
_RESEAL_SECRET = "UPDATE vault_secrets SET sealed = $1, updated_at = $2 WHERE name = $3"
_INSERT_EVENT = """INSERT INTO audit_events (id, ts, agent, status, blocked, cost_usd, body)
    VALUES ($1, $2, $3, $4, $5, $6, $7)"""
_UPDATE_EVENT = """UPDATE audit_events SET status = $1, blocked = $2, cost_usd = $3, body = $4
    WHERE id = $5"""
_INTERRUPT_EVENTS = """UPDATE audit_events SET status = $1, body = (body::jsonb || $2::jsonb)::json
    WHERE status = $3"""


def mask_url(url: str) -> str:
    """The URL with any password (in the user part or the query) replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hosts = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hosts}"
    query = urlencode([(key, "***" if key == "password" else value)
                       for key, value in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class PostgresStore:
    """Store in a PostgreSQL database given by a postgres:// or postgresql:// URL."""

    kind = "postgres"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10,
                 connect_timeout: float = 10.0) -> None:
        if not url.startswith(SCHEMES):
            raise ConfigError(f"PostgreSQL URL must start with postgres:// or postgresql://, "
                              f"got {mask_url(url)!r}")
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._pool: asyncpg.Pool | None = None

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return mask_url(self.url)

    async def open(self) -> None:
        if self._pool is not None:
            return
        pool = await self._create_pool()
        self._pool = pool
        try:
            await self._migrate()
        except BaseException:
            self._pool = None
            await pool.close()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def ping(self) -> None:
        async with self._connection("ping") as conn:
            await conn.fetchval("SELECT 1")

    async def applied_migrations(self) -> list[str]:
        async with self._connection("read migrations") as conn:
            rows = await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")
        return [row["name"] for row in rows]

    # -- meta ----------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        async with self._connection("read meta") as conn:
            value: str | None = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return value

    async def set_meta(self, key: str, value: str) -> None:
        async with self._connection("write meta") as conn:
            await conn.execute(_SET_META, key, value)

    # -- agents --------------------------------------------------------------------------

    async def create_agent(self, agent: AgentRecord) -> None:
        async with self._connection("create agent") as conn:
            try:
                await conn.execute(_INSERT_AGENT, *agent_params(agent, to_utc))
            except asyncpg.UniqueViolationError as exc:
                column = _CONSTRAINT_COLUMNS.get(exc.constraint_name or "", "name")
                raise duplicate_agent_error(agent, column) from exc

    async def get_agent(self, name: str) -> AgentRecord | None:
        async with self._connection("read agent") as conn:
            row = await conn.fetchrow("SELECT * FROM agents WHERE name = $1", name)
        return agent_from_row(row) if row else None

    async def get_agent_by_key_prefix(self, key_prefix: str) -> AgentRecord | None:
        async with self._connection("read agent") as conn:
            row = await conn.fetchrow("SELECT * FROM agents WHERE key_prefix = $1", key_prefix)
        return agent_from_row(row) if row else None

    async def list_agents(self) -> list[AgentRecord]:
        async with self._connection("list agents") as conn:
            rows = await conn.fetch("SELECT * FROM agents ORDER BY name")
        return [agent_from_row(row) for row in rows]

    async def update_agent(self, agent: AgentRecord) -> None:
        async with self._connection("update agent") as conn:
            try:
                status = await conn.execute(_UPDATE_AGENT, *agent_update_params(agent, to_utc))
            except asyncpg.UniqueViolationError as exc:
                column = _CONSTRAINT_COLUMNS.get(exc.constraint_name or "", "name")
                raise duplicate_agent_error(agent, column) from exc
        if _row_count(status) == 0:
            raise missing_agent_error(agent.name)

    async def delete_agent(self, name: str) -> bool:
        async with self._connection("delete agent", transaction=True) as conn:
            await conn.execute("DELETE FROM tool_pins WHERE agent_id IN "
                               "(SELECT id FROM agents WHERE name = $1)", name)
            status = await conn.execute("DELETE FROM agents WHERE name = $1", name)
        return _row_count(status) > 0

    async def tool_pins(self, agent_id: str) -> dict[str, str]:
        async with self._connection("read tool pins") as conn:
            rows = await conn.fetch("SELECT tool, sha256 FROM tool_pins WHERE agent_id = $1",
                                    agent_id)
        return {row["tool"]: row["sha256"] for row in rows}

    async def pin_tool(self, agent_id: str, tool: str, sha256: str) -> str:
        async with self._connection("pin tool") as conn:
            pinned = await conn.fetchval(_PIN_TOOL, agent_id, tool, sha256, datetime.now(UTC))
        return str(pinned)

    async def clear_tool_pins(self, agent_id: str) -> int:
        async with self._connection("clear tool pins") as conn:
            status = await conn.execute("DELETE FROM tool_pins WHERE agent_id = $1", agent_id)
        return _row_count(status)

    # -- pipelines -----------------------------------------------------------------------

    async def save_pipeline(self, pipeline: PipelineRecord) -> None:
        params = pipeline_params(pipeline, to_utc)
        async with self._connection("save pipeline") as conn:
            await conn.execute(_SAVE_PIPELINE, *params)

    async def get_pipeline(self, name: str) -> PipelineRecord | None:
        async with self._connection("read pipeline") as conn:
            row = await conn.fetchrow("SELECT * FROM pipelines WHERE name = $1", name)
        return pipeline_from_row(row) if row else None

    async def list_pipelines(self) -> list[PipelineRecord]:
        async with self._connection("list pipelines") as conn:
            rows = await conn.fetch(_LIST_PIPELINES)
        return [pipeline_from_row(row) for row in rows]

    async def delete_pipeline(self, name: str) -> bool:
        async with self._connection("delete pipeline") as conn:
            status = await conn.execute("DELETE FROM pipelines WHERE name = $1", name)
        return _row_count(status) > 0

    # -- audit ---------------------------------------------------------------------------

    async def append_audit(self, events: list[dict[str, Any]]) -> None:
        rows = event_rows(events)
        if not rows:
            return
        params = [(row.id, row.ts, row.agent, row.status, row.blocked, row.cost_usd, row.body)
                  for row in rows]
        async with self._connection("append audit events", transaction=True) as conn:
            try:
                await conn.executemany(_INSERT_EVENT, params)
            except asyncpg.UniqueViolationError as exc:
                raise duplicate_event_error(exc.detail or str(exc)) from exc

    async def update_audit(self, events: list[dict[str, Any]]) -> None:
        rows = event_rows(events)
        if not rows:
            return
        async with self._connection("update audit events", transaction=True) as conn:
            missing = [row.id for row in rows if await conn.execute(
                _UPDATE_EVENT, row.status, row.blocked, row.cost_usd, row.body,
                row.id) == "UPDATE 0"]
            if missing:
                raise missing_event_error(missing)

    async def interrupt_open_audit(self) -> int:
        patch = dumps(INTERRUPTED)
        async with self._connection("mark interrupted audit events",
                                    transaction=True) as conn:
            result = await conn.execute(_INTERRUPT_EVENTS, INTERRUPTED["status"], patch,
                                        OPEN_STATUS)
        return int(result.rpartition(" ")[2])

    async def probe_audit_write(self) -> None:
        row, now = probe_row()
        async with self._connection("audit write probe", transaction=True) as conn:
            await conn.execute(f"SAVEPOINT {PROBE_SAVEPOINT}")
            await conn.execute(_INSERT_EVENT, row.id, row.ts, row.agent, row.status,
                               row.blocked, row.cost_usd, row.body)
            await conn.execute(f"ROLLBACK TO SAVEPOINT {PROBE_SAVEPOINT}")
            await conn.execute(_SET_META, PROBE_META_KEY, format_ts(now))

    async def query_audit(self, query: AuditQuery) -> list[dict[str, Any]]:
        conditions = audit_conditions(query)
        where = " AND ".join(f"{condition} ${number}"
                             for number, (condition, _) in enumerate(conditions, 1)) or "TRUE"
        params = [value for _, value in conditions] + [query_limit(query)]
        sql = (f"SELECT body FROM audit_events WHERE {where} "
               f"ORDER BY ts DESC, seq DESC LIMIT ${len(params)}")
        async with self._connection("query audit events") as conn:
            rows = await conn.fetch(sql, *params)
        return [loads(row["body"]) for row in rows]

    async def audit_page(self, after_position: int, limit: int,
                         query: AuditQuery | None = None) -> list[tuple[int, dict[str, Any]]]:
        conditions = [("seq >", after_position), *audit_conditions(query or AuditQuery())]
        where = " AND ".join(f"{condition} ${number}"
                             for number, (condition, _) in enumerate(conditions, 1))
        params = [value for _, value in conditions] + [max(limit, 0)]
        sql = (f"SELECT seq, body FROM audit_events WHERE {where} "
               f"ORDER BY seq LIMIT ${len(params)}")
        async with self._connection("page audit events") as conn:
            rows = await conn.fetch(sql, *params)
        return [(row["seq"], loads(row["body"])) for row in rows]

    async def sum_cost(self, agent: str, since: datetime) -> float:
        async with self._connection("sum cost") as conn:
            total = await conn.fetchval("SELECT COALESCE(SUM(cost_usd), 0.0) FROM audit_events "
                                        "WHERE agent = $1 AND ts >= $2", agent, to_utc(since))
        return float(total)

    # -- vault ---------------------------------------------------------------------------

    async def list_secrets(self) -> list[SecretRecord]:
        async with self._connection("list vault secrets") as conn:
            rows = await conn.fetch('SELECT * FROM vault_secrets ORDER BY name COLLATE "C"')
        return [secret_from_row(row) for row in rows]

    async def save_secret(self, secret: SecretRecord) -> None:
        async with self._connection("save vault secret") as conn:
            await conn.execute(_SAVE_SECRET, secret.name, secret.sealed,
                               to_utc(secret.created_at), to_utc(secret.updated_at))

    async def delete_secret(self, name: str) -> bool:
        async with self._connection("delete vault secret") as conn:
            status = await conn.execute("DELETE FROM vault_secrets WHERE name = $1", name)
        return _row_count(status) > 0

    async def reseal_secrets(self, secrets: list[SecretRecord]) -> None:
        async with self._connection("re-encrypt vault secrets", transaction=True) as conn:
            await conn.executemany(_RESEAL_SECRET, [(s.sealed, to_utc(s.updated_at), s.name)
                                                    for s in secrets])

    # -- helpers -------------------------------------------------------------------------

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            pool: asyncpg.Pool = await asyncpg.create_pool(
                self.url, min_size=self._min_size, max_size=self._max_size,
                timeout=self._connect_timeout)
        except (*_DB_ERRORS, ValueError) as exc:
            raise StorageError(f"cannot connect to PostgreSQL at {self.display_url}: "
                               f"{self._scrub(str(exc))}") from None
        return pool

    async def _migrate(self) -> None:
        async with self._connection("create schema_migrations", transaction=True) as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(_CREATE_MIGRATIONS)
        for migration in load_migrations("postgres"):
            async with self._connection(f"migration {migration.name}", transaction=True) as conn:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                await _apply(conn, migration)

    @asynccontextmanager
    async def _connection(self, action: str, *,
                          transaction: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection (optionally in a transaction); driver errors -> StorageError."""
        if self._pool is None:
            raise StorageError(f"PostgreSQL store {self.display_url} is not open: "
                               "call open() first")
        try:
            async with self._pool.acquire() as conn:
                if transaction:
                    async with conn.transaction():
                        yield conn
                else:
                    yield conn
        except _DB_ERRORS as exc:
            raise StorageError(f"PostgreSQL {action} failed on {self.display_url}: "
                               f"{self._scrub(str(exc))}") from exc

    def _scrub(self, text: str) -> str:
        """Remove the password from a driver message, in case one ever echoes the DSN."""
        password = urlsplit(self.url).password
        return text.replace(password, "***") if password else text


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    """Run one migration inside the caller's transaction unless it is already recorded."""
    if await conn.fetchval("SELECT 1 FROM schema_migrations WHERE name = $1", migration.name):
        return
    await conn.execute(migration.sql)
    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", migration.name)


def _row_count(status: str) -> int:
    """Rows affected, from a command status such as "UPDATE 1" or "DELETE 0"."""
    return int(status.rsplit(" ", 1)[-1])
