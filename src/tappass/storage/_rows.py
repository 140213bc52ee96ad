"""Row mapping shared by every storage backend: JSON, timestamps, audit, agent and
pipeline rows.

Backends differ only in SQL dialect; what goes into a row and what comes out of one is
decided here, so the memory, SQLite and PostgreSQL stores behave the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from tappass.errors import AlreadyExists, StorageError
from tappass.storage.base import AgentRecord, AuditQuery, PipelineRecord, SecretRecord


class Row(Protocol):
    """What sqlite3.Row and asyncpg.Record have in common."""

    def __getitem__(self, key: str, /) -> Any: ...


# -- JSON and time ---------------------------------------------------------------------

def dumps(value: Any) -> str:
    """JSON text of `value` (orjson); StorageError when it is not JSON-able."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        raise StorageError(f"value cannot be stored as JSON: {exc}") from exc


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def to_utc(value: datetime) -> datetime:
    """The same instant as an aware UTC datetime; a naive value is taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_ts(value: datetime) -> str:
    """Fixed-width ISO-8601 UTC text ("2026-11-26T00:32:51.123456Z"): text order = time order."""
    return to_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_ts(value: str | datetime) -> datetime:
    """An aware UTC datetime from ISO-8601 text (or a datetime, e.g. from asyncpg)."""
    if isinstance(value, datetime):
        return to_utc(value)
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO-8601 string, got {type(value).__name__}")
    return to_utc(datetime.fromisoformat(value))


# -- audit events ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EventRow:
    """The indexed columns of one audit event plus its whole body as JSON text."""

    id: str
    ts: datetime
    agent: str | None
    status: str
    blocked: bool
    cost_usd: float | None
    body: str


def event_row(event: Mapping[str, Any]) -> EventRow:
    """Columns of one event; StorageError when a required key is missing or malformed."""
    try:
        return EventRow(id=_text(event["id"]), ts=parse_ts(event["timestamp"]),
                        agent=_optional_text(event["agent"]), status=_text(event["status"]),
                        blocked=_flag(event["blocked"]), cost_usd=_cost(event["cost_usd"]),
                        body=dumps(event))
    except KeyError as exc:
        raise StorageError(f"audit event {event.get('id')!r} lacks key {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise StorageError(f"audit event {event.get('id')!r} is malformed: {exc}") from None


def event_rows(events: Iterable[Mapping[str, Any]]) -> list[EventRow]:
    """Rows of a batch, checked before anything is written (a batch is all or nothing)."""
    rows = [event_row(event) for event in events]
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            raise StorageError(f"audit event id {row.id!r} appears twice in one batch")
        seen.add(row.id)
    return rows


def missing_event_error(ids: Iterable[str]) -> StorageError:
    return StorageError(f"audit event(s) not stored, update not written: {', '.join(ids)}")


OPEN_STATUS = "open"
INTERRUPTED = {"status": "interrupted", "error": "the gateway stopped while the stream was open"}


def duplicate_event_error(detail: str) -> StorageError:
    return StorageError(f"audit event id already stored, batch not written: {detail}")


def audit_conditions(query: AuditQuery) -> list[tuple[str, Any]]:
    """The query's filters as (column and operator, value), e.g. ("ts >", after).

    The first element is a fixed SQL fragment; backends add their own placeholder, and
    values are always passed as parameters.
    """
    conditions: list[tuple[str, Any]] = []
    if query.agent is not None:
        conditions.append(("agent =", query.agent))
    if query.after is not None:
        conditions.append(("ts >", to_utc(query.after)))
    if query.before is not None:
        conditions.append(("ts <", to_utc(query.before)))
    if query.blocked is not None:
        conditions.append(("blocked =", query.blocked))
    return conditions


def query_limit(query: AuditQuery) -> int:
    return max(query.limit, 0)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"'blocked' must be a bool, got {type(value).__name__}")
    return value


def _cost(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"'cost_usd' must be a number or None, got {type(value).__name__}")
    return float(value)


# -- agents ----------------------------------------------------------------------------

# Column order of `agent_params`; the INSERT statements of the backends list this order.
AGENT_COLUMNS = ("id", "name", "preset", "flags", "enabled", "key_prefix", "key_hash",
                 "overrides", "locked_flags", "loosenable_flags", "tools", "created_at",
                 "updated_at")


def agent_params(agent: AgentRecord, encode_ts: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """Values for an INSERT, in AGENT_COLUMNS order."""
    return (agent.id, agent.name, agent.preset, dumps(agent.flags), agent.enabled,
            agent.key_prefix, agent.key_hash, dumps(agent.overrides), dumps(agent.locked_flags),
            dumps(agent.loosenable_flags), dumps(agent.tools), encode_ts(agent.created_at),
            encode_ts(agent.updated_at))


def agent_update_params(agent: AgentRecord,
                        encode_ts: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """preset, flags, enabled, key_prefix, key_hash, overrides, locked_flags, loosenable_flags,
    tools, updated_at, name."""
    return (agent.preset, dumps(agent.flags), agent.enabled, agent.key_prefix, agent.key_hash,
            dumps(agent.overrides), dumps(agent.locked_flags), dumps(agent.loosenable_flags),
            dumps(agent.tools), encode_ts(agent.updated_at), agent.name)


def agent_from_row(row: Row) -> AgentRecord:
    return AgentRecord(
        id=row["id"], name=row["name"], preset=row["preset"], flags=loads(row["flags"]),
        enabled=bool(row["enabled"]), key_prefix=row["key_prefix"], key_hash=row["key_hash"],
        created_at=parse_ts(row["created_at"]), updated_at=parse_ts(row["updated_at"]),
        overrides=loads(row["overrides"]), locked_flags=loads(row["locked_flags"]),
        loosenable_flags=loads(row["loosenable_flags"]), tools=loads(row["tools"]))


def duplicate_agent_error(agent: AgentRecord, column: str) -> AlreadyExists:
    """The AlreadyExists for a unique column ("name", "key_prefix" or "id") that was taken."""
    if column == "key_prefix":
        return AlreadyExists(f"an agent with key prefix {agent.key_prefix!r} already exists")
    if column == "id":
        return AlreadyExists(f"an agent with id {agent.id!r} already exists")
    return AlreadyExists(f"agent {agent.name!r} already exists")


def missing_agent_error(name: str) -> StorageError:
    return StorageError(f"agent {name!r} does not exist")


# -- pipelines -------------------------------------------------------------------------

# Column order of `pipeline_params`; the INSERT statements of the backends list this order.
# A save is an upsert: on a name conflict only `spec` and `updated_at` are replaced, so the
# stored `created_at` is kept.
PIPELINE_COLUMNS = ("name", "spec", "created_at", "updated_at")


def pipeline_params(pipeline: PipelineRecord,
                    encode_ts: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """Values for an INSERT, in PIPELINE_COLUMNS order; StorageError when `spec` is not JSON."""
    return (pipeline.name, dumps(pipeline.spec), encode_ts(pipeline.created_at),
            encode_ts(pipeline.updated_at))


def secret_from_row(row: Row) -> SecretRecord:
    return SecretRecord(name=row["name"], sealed=row["sealed"],
                        created_at=parse_ts(row["created_at"]),
                        updated_at=parse_ts(row["updated_at"]))


def pipeline_from_row(row: Row) -> PipelineRecord:
    return PipelineRecord(name=row["name"], spec=loads(row["spec"]),
                          created_at=parse_ts(row["created_at"]),
                          updated_at=parse_ts(row["updated_at"]))
