"""The Store protocol: everything the gateway persists goes through these methods.

Records are plain dataclasses; audit events are JSON-able dicts (see `tappass.audit.events`).
All backends apply their numbered SQL migrations in `open()` and record them in
`schema_migrations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(slots=True)
class AgentRecord:
    id: str                      # "ag_" + random
    name: str                    # unique, validated by the API
    preset: str                  # pipeline name
    flags: dict[str, str]        # agent-level governance flags
    enabled: bool
    key_prefix: str              # first characters of the key; unique lookup index
    key_hash: str                # sha256 hex of the whole key; the key itself is never stored
    created_at: datetime         # timezone-aware UTC
    updated_at: datetime
    overrides: dict[str, Any] = field(default_factory=dict)   # pipeline overrides (issue #3)
    locked_flags: list[str] = field(default_factory=list)     # flags a request may not change
    loosenable_flags: list[str] = field(default_factory=list)  # flags a request may loosen
    tools: dict[str, list[str]] = field(default_factory=dict)  # {"allow": [...], "deny": [...]}


@dataclass(slots=True)
class PipelineRecord:
    """A custom pipeline: a base preset plus enables, disables and overrides (issue #3)."""

    name: str                    # unique; never one of the preset names
    spec: dict[str, Any]         # {"base", "description", "enable", "disable", "overrides"}
    created_at: datetime         # timezone-aware UTC
    updated_at: datetime


@dataclass(slots=True)
class SecretRecord:
    """A vault secret as stored: only ever sealed (see `tappass.vault.cipher`)."""

    name: str
    sealed: str
    created_at: datetime         # timezone-aware UTC
    updated_at: datetime


@dataclass(slots=True)
class AuditQuery:
    agent: str | None = None
    after: datetime | None = None      # exclusive lower bound on timestamp
    before: datetime | None = None     # exclusive upper bound on timestamp
    blocked: bool | None = None
    limit: int = 50


class Store(Protocol):
    kind: str  # "memory" | "local" | "postgres"

    async def open(self) -> None:
        """Connect and apply pending migrations. Raises StorageError."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StorageError when the database does not answer."""

    async def applied_migrations(self) -> list[str]:
        """Stems of the applied migration files in order ("0001_init", ...); [] for memory."""

    # settings kept by the gateway itself (e.g. the admin key hash)
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...

    # agents
    async def create_agent(self, agent: AgentRecord) -> None:
        """Raise AlreadyExists when the name is taken."""

    async def get_agent(self, name: str) -> AgentRecord | None: ...
    async def get_agent_by_key_prefix(self, key_prefix: str) -> AgentRecord | None: ...
    async def list_agents(self) -> list[AgentRecord]: ...

    async def update_agent(self, agent: AgentRecord) -> None:
        """Replace every mutable field of the agent with this name (id, created_at are kept)."""

    async def delete_agent(self, name: str) -> bool:
        """Remove the agent and its tool pins; False when there was no such agent."""

    # tool definitions pinned per agent (SHA-256 of each full definition, first sight wins)
    async def tool_pins(self, agent_id: str) -> dict[str, str]:
        """Tool name -> pinned SHA-256 hex for the agent."""

    async def pin_tool(self, agent_id: str, tool: str, sha256: str) -> str:
        """Pin `sha256` for the tool unless one is pinned already; the pinned hash either way
        (concurrent first sights agree on one)."""

    async def clear_tool_pins(self, agent_id: str) -> int:
        """Forget the agent's pins (an admin accepted changed definitions); how many."""

    # custom pipelines
    async def save_pipeline(self, pipeline: PipelineRecord) -> None:
        """Create or replace by name; a replace keeps the stored `created_at`."""

    async def get_pipeline(self, name: str) -> PipelineRecord | None: ...
    async def list_pipelines(self) -> list[PipelineRecord]:
        """Ordered by name."""

    async def delete_pipeline(self, name: str) -> bool: ...

    # audit
    async def append_audit(self, events: list[dict[str, Any]]) -> None:
        """Write all events in one transaction (group commit); all or none."""

    async def update_audit(self, events: list[dict[str, Any]]) -> None:
        """Replace stored events by id (a stream's event completed); all or none.

        The caller keeps each event's `timestamp` as first written (the `ts` column is not
        changed). StorageError when an id is not stored."""

    async def interrupt_open_audit(self) -> int:
        """Mark events still `open` (a stream cut by a crash) as `interrupted`; the count."""

    async def probe_audit_write(self) -> None:
        """Prove that an audit write can commit now, leaving no audit event behind.

        One transaction inserts a probe row into the audit table, rolls that insert back to
        a savepoint, and records the time under the meta key `audit_probe_at`, so the commit
        really reaches the disk. Raise StorageError when any of it fails (full or read-only
        disk, a refused insert). Used at start-up and by the health checks while audit
        writes are failing.
        """

    async def query_audit(self, query: AuditQuery) -> list[dict[str, Any]]:
        """Events matching the query, newest first."""

    async def audit_page(self, after_position: int, limit: int,
                         query: AuditQuery | None = None) -> list[tuple[int, dict[str, Any]]]:
        """(row position, event) of up to `limit` events after `after_position`, in write
        order (oldest first), matching the query's filters (its `limit` is ignored). Pages
        through the whole trail for exports, chain verification and metrics."""

    async def sum_cost(self, agent: str, since: datetime) -> float:
        """Total `cost_usd` of the agent's events at or after `since`."""

    # the key vault (sealed values only)
    async def list_secrets(self) -> list[SecretRecord]:
        """Ordered by name."""

    async def save_secret(self, secret: SecretRecord) -> None:
        """Create or replace by name; a replace keeps the stored `created_at`."""

    async def delete_secret(self, name: str) -> bool: ...

    async def reseal_secrets(self, secrets: list[SecretRecord]) -> None:
        """Replace the sealed value of every given secret in one transaction (re-keying)."""
