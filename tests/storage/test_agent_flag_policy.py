"""`loosenable_flags` on agents (migration 0003), run against every backend."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tappass.storage import _migrations
from tappass.storage.base import AgentRecord, Store
from tests.storage_helpers import insert_agents_as_before_0003

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MIGRATION_BACKEND = {"local": "sqlite", "postgres": "postgres"}
BACKEND_MODULE = {"local": "tappass.storage.sqlite", "postgres": "tappass.storage.postgres"}


def agent(name: str = "alpha", **changes: object) -> AgentRecord:
    record = AgentRecord(id=f"ag_{name}", name=name, preset="standard",
                         flags={"budget": "dev"}, enabled=True, key_prefix=f"tp_{name}",
                         key_hash="ab" * 32, created_at=T0, updated_at=T0,
                         locked_flags=["mode"], loosenable_flags=["budget", "email"])
    return replace(record, **changes)  # type: ignore[arg-type]


async def test_loosenable_flags_round_trip(store: Store) -> None:
    await store.create_agent(agent())
    await store.create_agent(agent("beta", loosenable_flags=[]))
    assert (await store.get_agent("alpha")) == agent()
    assert (await store.get_agent_by_key_prefix("tp_alpha")) == agent()
    assert [a.loosenable_flags for a in await store.list_agents()] == [["budget", "email"], []]
    await store.update_agent(agent(loosenable_flags=["pii"]))
    got = await store.get_agent("alpha")
    assert got is not None and got.loosenable_flags == ["pii"]
    assert got.locked_flags == ["mode"]
    got.loosenable_flags.append("mode")  # a copy: the store keeps its own
    assert (await store.get_agent("alpha")) == agent(loosenable_flags=["pii"])


async def test_agents_from_before_0003_allow_no_loosening(
        new_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch) -> None:
    """A database left by a gateway that knew 0001..0002 gets the column, empty."""
    old = new_store()
    if old.kind == "memory":
        pytest.skip("the memory store has no schema")
    module = importlib.import_module(BACKEND_MODULE[old.kind])
    monkeypatch.setattr(module, "load_migrations",
                        lambda name: _migrations.load_migrations(name)[:2])
    insert_agents_as_before_0003(monkeypatch, module)
    await old.open()
    try:
        assert await old.applied_migrations() == ["0001_init", "0002_pipelines"]
        await old.create_agent(agent())
    finally:
        await old.close()
    monkeypatch.undo()

    upgraded = new_store()
    await upgraded.open()
    try:
        assert await upgraded.applied_migrations() == _migrations.migration_names(
            MIGRATION_BACKEND[upgraded.kind])
        assert "0003_agent_loosenable_flags" in await upgraded.applied_migrations()
        assert await upgraded.get_agent("alpha") == agent(loosenable_flags=[])
    finally:
        await upgraded.close()
