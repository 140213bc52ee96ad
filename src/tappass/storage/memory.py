"""In-memory store (`TAPPASS_STORAGE=memory`): plain dicts, gone when the process exits.

Meant for throwaway runs and tests. It follows the same contract as the SQL backends:
it must be opened before use, records and events go in and come out as copies, and audit
events and pipelines are kept as rows with JSON text so that anything the SQL stores would
reject fails here too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tappass.errors import StorageError
from tappass.forward.outbox import Route
from tappass.storage._probe import PROBE_META_KEY, probe_row
from tappass.storage._rows import (
    INTERRUPTED,
    OPEN_STATUS,
    PIPELINE_COLUMNS,
    EventRow,
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
    to_utc,
)
from tappass.storage.base import AgentRecord, AuditQuery, PipelineRecord, SecretRecord
from tappass.storage.outbox_memory import MemoryOutbox


@dataclass(frozen=True, slots=True)
class _StoredEvent:
    seq: int
    row: EventRow


class MemoryStore:
    """Dict-backed store; has no schema, so `applied_migrations()` is empty."""

    kind = "memory"

    def __init__(self) -> None:
        self._open = False
        self._meta: dict[str, str] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._pipelines: dict[str, dict[str, Any]] = {}   # name -> row, as the SQL tables hold
        self._secrets: dict[str, SecretRecord] = {}
        self._events: list[_StoredEvent] = []
        self._event_ids: dict[str, int] = {}   # id -> position in _events
        self._tool_pins: dict[str, dict[str, str]] = {}   # agent id -> tool -> sha256
        self.outbox = MemoryOutbox(self._event_body)
        self.route_outbox: Route | None = None

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    async def ping(self) -> None:
        self._check_open()

    async def applied_migrations(self) -> list[str]:
        self._check_open()
        return []

    # -- meta ----------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        self._check_open()
        return self._meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self._check_open()
        self._meta[key] = value

    # -- agents --------------------------------------------------------------------------

    async def create_agent(self, agent: AgentRecord) -> None:
        self._check_open()
        if agent.name in self._agents:
            raise duplicate_agent_error(agent, "name")
        self._check_unique(agent, check_id=True)
        self._agents[agent.name] = _stored_agent(agent)

    async def get_agent(self, name: str) -> AgentRecord | None:
        self._check_open()
        agent = self._agents.get(name)
        return copy.deepcopy(agent) if agent else None

    async def get_agent_by_key_prefix(self, key_prefix: str) -> AgentRecord | None:
        self._check_open()
        for agent in self._agents.values():
            if agent.key_prefix == key_prefix:
                return copy.deepcopy(agent)
        return None

    async def list_agents(self) -> list[AgentRecord]:
        self._check_open()
        return [copy.deepcopy(self._agents[name]) for name in sorted(self._agents)]

    async def update_agent(self, agent: AgentRecord) -> None:
        self._check_open()
        current = self._agents.get(agent.name)
        if current is None:
            raise missing_agent_error(agent.name)
        self._check_unique(agent, check_id=False)
        updated = _stored_agent(agent)
        updated.id, updated.created_at = current.id, current.created_at
        self._agents[agent.name] = updated

    async def delete_agent(self, name: str) -> bool:
        self._check_open()
        agent = self._agents.pop(name, None)
        if agent is None:
            return False
        self._tool_pins.pop(agent.id, None)
        return True

    async def tool_pins(self, agent_id: str) -> dict[str, str]:
        self._check_open()
        return dict(self._tool_pins.get(agent_id, {}))

    async def pin_tool(self, agent_id: str, tool: str, sha256: str) -> str:
        self._check_open()
        return self._tool_pins.setdefault(agent_id, {}).setdefault(tool, sha256)

    async def clear_tool_pins(self, agent_id: str) -> int:
        self._check_open()
        return len(self._tool_pins.pop(agent_id, {}))

    # -- pipelines -----------------------------------------------------------------------

    async def save_pipeline(self, pipeline: PipelineRecord) -> None:
        self._check_open()
        row = dict(zip(PIPELINE_COLUMNS, pipeline_params(pipeline, to_utc), strict=True))
        current = self._pipelines.get(pipeline.name)
        if current is not None:
            row["created_at"] = current["created_at"]
        self._pipelines[pipeline.name] = row

    async def get_pipeline(self, name: str) -> PipelineRecord | None:
        self._check_open()
        row = self._pipelines.get(name)
        return pipeline_from_row(row) if row is not None else None

    async def list_pipelines(self) -> list[PipelineRecord]:
        self._check_open()
        return [pipeline_from_row(self._pipelines[name]) for name in sorted(self._pipelines)]

    async def delete_pipeline(self, name: str) -> bool:
        self._check_open()
        return self._pipelines.pop(name, None) is not None

    # -- audit ---------------------------------------------------------------------------

    async def append_audit(self, events: list[dict[str, Any]]) -> None:
        self._check_open()
        rows = event_rows(events)
        for row in rows:
            if row.id in self._event_ids:
                raise duplicate_event_error(f"id {row.id!r}")
        forward = self.route_outbox(events) if self.route_outbox else []
        start = len(self._events)
        self._events.extend(_StoredEvent(start + i + 1, row) for i, row in enumerate(rows))
        self._event_ids.update((row.id, start + i) for i, row in enumerate(rows))
        self.outbox.insert(forward)

    async def update_audit(self, events: list[dict[str, Any]]) -> None:
        self._check_open()
        rows = event_rows(events)
        index = self._event_ids  # not a scan of every event: one per stream completion
        missing = [row.id for row in rows if row.id not in index]
        if missing:
            raise missing_event_error(missing)
        forward = self.route_outbox(events) if self.route_outbox else []
        for row in rows:
            stored = self._events[index[row.id]]
            self._events[index[row.id]] = _StoredEvent(stored.seq, replace(row, ts=stored.row.ts))
        self.outbox.insert(forward)

    def _event_body(self, audit_id: str) -> str | None:
        position = self._event_ids.get(audit_id)
        return None if position is None else self._events[position].row.body

    async def interrupt_open_audit(self) -> int:
        self._check_open()
        cut = []
        for i, event in enumerate(self._events):
            if event.row.status == OPEN_STATUS:
                body = {**loads(event.row.body), **INTERRUPTED}
                self._events[i] = _StoredEvent(event.seq, replace(
                    event.row, status=INTERRUPTED["status"], body=dumps(body)))
                cut.append(body)
        if cut and self.route_outbox:
            self.outbox.insert(self.route_outbox(cut))
        return len(cut)

    async def probe_audit_write(self) -> None:
        self._check_open()
        _, now = probe_row()  # the checks a real event goes through; nothing is kept
        self._meta[PROBE_META_KEY] = format_ts(now)

    async def query_audit(self, query: AuditQuery) -> list[dict[str, Any]]:
        self._check_open()
        matching = [event for event in self._events if _matches(event.row, query)]
        matching.sort(key=lambda event: (event.row.ts, event.seq), reverse=True)
        return [loads(event.row.body) for event in matching[: query_limit(query)]]

    async def audit_page(self, after_position: int, limit: int,
                         query: AuditQuery | None = None) -> list[tuple[int, dict[str, Any]]]:
        self._check_open()
        query = query or AuditQuery()
        matching = [event for event in self._events
                    if event.seq > after_position and _matches(event.row, query)]
        matching.sort(key=lambda event: event.seq)
        return [(event.seq, loads(event.row.body)) for event in matching[: max(limit, 0)]]

    async def sum_cost(self, agent: str, since: datetime) -> float:
        self._check_open()
        since = to_utc(since)
        return float(sum(event.row.cost_usd or 0.0 for event in self._events
                         if event.row.agent == agent and event.row.ts >= since))

    # -- vault ---------------------------------------------------------------------------

    async def list_secrets(self) -> list[SecretRecord]:
        self._check_open()
        return [copy.copy(self._secrets[name]) for name in sorted(self._secrets)]

    async def save_secret(self, secret: SecretRecord) -> None:
        self._check_open()
        current = self._secrets.get(secret.name)
        stored = copy.copy(secret)
        if current is not None:
            stored.created_at = current.created_at
        self._secrets[secret.name] = stored

    async def delete_secret(self, name: str) -> bool:
        self._check_open()
        return self._secrets.pop(name, None) is not None

    async def reseal_secrets(self, secrets: list[SecretRecord]) -> None:
        self._check_open()
        for secret in secrets:
            if secret.name in self._secrets:
                self._secrets[secret.name].sealed = secret.sealed
                self._secrets[secret.name].updated_at = secret.updated_at

    # -- helpers -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._open:
            raise StorageError("the memory store is not open: call open() first")

    def _check_unique(self, agent: AgentRecord, *, check_id: bool) -> None:
        """Raise AlreadyExists when another agent has this agent's key prefix (or id)."""
        for other in self._agents.values():
            if other.name == agent.name:
                continue
            if other.key_prefix == agent.key_prefix:
                raise duplicate_agent_error(agent, "key_prefix")
            if check_id and other.id == agent.id:
                raise duplicate_agent_error(agent, "id")


def _stored_agent(agent: AgentRecord) -> AgentRecord:
    """A private copy passed through JSON with UTC timestamps, as the SQL stores return it."""
    stored = copy.copy(agent)
    stored.flags = loads(dumps(agent.flags))
    stored.overrides = loads(dumps(agent.overrides))
    stored.locked_flags = loads(dumps(agent.locked_flags))
    stored.loosenable_flags = loads(dumps(agent.loosenable_flags))
    stored.tools = loads(dumps(agent.tools))
    stored.created_at = to_utc(agent.created_at)
    stored.updated_at = to_utc(agent.updated_at)
    return stored


def _matches(row: EventRow, query: AuditQuery) -> bool:
    return ((query.agent is None or row.agent == query.agent)
            and (query.after is None or row.ts > to_utc(query.after))
            and (query.before is None or row.ts < to_utc(query.before))
            and (query.blocked is None or row.blocked == query.blocked))
