"""Builders for records used across test modules."""

from __future__ import annotations

from datetime import UTC, datetime

from tappass.storage.base import AgentRecord


def make_agent(name: str, preset: str = "starter", **changes: object) -> AgentRecord:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "id": f"ag_{name}", "name": name, "preset": preset, "flags": {}, "enabled": True,
        "key_prefix": f"tp_{name}"[:12], "key_hash": "0" * 64, "created_at": now,
        "updated_at": now, **changes}
    return AgentRecord(**fields)  # type: ignore[arg-type]
