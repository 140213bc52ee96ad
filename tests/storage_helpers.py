"""Builders for records used across test modules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

from tappass.storage._rows import AGENT_COLUMNS
from tappass.storage.base import AgentRecord


def make_agent(name: str, preset: str = "starter", **changes: object) -> AgentRecord:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "id": f"ag_{name}", "name": name, "preset": preset, "flags": {}, "enabled": True,
        "key_prefix": f"tp_{name}"[:12], "key_hash": "0" * 64, "created_at": now,
        "updated_at": now, **changes}
    return AgentRecord(**fields)  # type: ignore[arg-type]


# The agent INSERT of a gateway before migration 0003 (no `loosenable_flags` column).
_INSERT_AGENT_BEFORE_0003 = {
    "tappass.storage.sqlite": """INSERT INTO agents (id, name, preset, flags, enabled,
        key_prefix, key_hash, overrides, locked_flags, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
    "tappass.storage.postgres": """INSERT INTO agents (id, name, preset, flags, enabled,
        key_prefix, key_hash, overrides, locked_flags, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
}


def insert_agents_as_before_0003(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> None:
    """Make a SQL store module write agents as a gateway that only knew 0001..0002 did."""
    later = {AGENT_COLUMNS.index(c) for c in ("loosenable_flags", "tools")}
    params = module.agent_params

    def old_params(agent: AgentRecord, encode_ts: Callable[[datetime], Any]) -> tuple[Any, ...]:
        values = params(agent, encode_ts)
        return tuple(v for i, v in enumerate(values) if i not in later)

    monkeypatch.setattr(module, "_INSERT_AGENT", _INSERT_AGENT_BEFORE_0003[module.__name__])
    monkeypatch.setattr(module, "agent_params", old_params)
