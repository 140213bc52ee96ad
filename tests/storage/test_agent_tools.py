"""Tool lists on agents and pinned tool definitions (migration 0005), on every backend."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tappass.storage import _migrations
from tappass.storage.base import AgentRecord, Store
from tests.storage_helpers import insert_agents_as_before_0003

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BACKEND_MODULE = {"local": "tappass.storage.sqlite", "postgres": "tappass.storage.postgres"}
TOOLS = {"allow": ["gmail_*"], "deny": ["delete_*"]}


def agent(name: str = "alpha", **changes: object) -> AgentRecord:
    record = AgentRecord(id=f"ag_{name}", name=name, preset="standard", flags={},
                         enabled=True, key_prefix=f"tp_{name}", key_hash="ab" * 32,
                         created_at=T0, updated_at=T0, tools=TOOLS)
    return replace(record, **changes)  # type: ignore[arg-type]


async def test_tool_lists_round_trip(store: Store) -> None:
    await store.create_agent(agent())
    await store.create_agent(agent("beta", tools={}))
    assert await store.get_agent("alpha") == agent()
    assert [a.tools for a in await store.list_agents()] == [TOOLS, {}]
    await store.update_agent(agent(tools={"allow": [], "deny": ["shell_*"]}))
    got = await store.get_agent_by_key_prefix("tp_alpha")
    assert got is not None and got.tools == {"allow": [], "deny": ["shell_*"]}


async def test_first_pin_wins_and_clearing_forgets(store: Store) -> None:
    await store.create_agent(agent())
    assert await store.pin_tool("ag_alpha", "get_weather", "a" * 64) == "a" * 64
    assert await store.pin_tool("ag_alpha", "get_weather", "b" * 64) == "a" * 64
    assert await store.pin_tool("ag_alpha", "search", "c" * 64) == "c" * 64
    assert await store.pin_tool("ag_other", "get_weather", "d" * 64) == "d" * 64
    assert await store.tool_pins("ag_alpha") == {"get_weather": "a" * 64, "search": "c" * 64}
    assert await store.clear_tool_pins("ag_alpha") == 2
    assert await store.tool_pins("ag_alpha") == {}
    assert await store.pin_tool("ag_alpha", "get_weather", "b" * 64) == "b" * 64
    assert await store.tool_pins("ag_other") == {"get_weather": "d" * 64}


async def test_concurrent_first_sights_agree_on_one_pin(store: Store) -> None:
    pinned = await asyncio.gather(*(store.pin_tool("ag_alpha", "f", f"{i:064x}")
                                    for i in range(8)))
    assert len(set(pinned)) == 1
    assert await store.tool_pins("ag_alpha") == {"f": pinned[0]}


async def test_deleting_an_agent_drops_its_pins(store: Store) -> None:
    await store.create_agent(agent())
    await store.pin_tool("ag_alpha", "f", "a" * 64)
    assert await store.delete_agent("alpha")
    assert await store.tool_pins("ag_alpha") == {}


async def test_agents_from_before_0005_have_no_tool_lists(
        new_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch) -> None:
    old = new_store()
    if old.kind == "memory":
        pytest.skip("the memory store has no schema")
    module = importlib.import_module(BACKEND_MODULE[old.kind])
    monkeypatch.setattr(module, "load_migrations",
                        lambda name: _migrations.load_migrations(name)[:2])
    insert_agents_as_before_0003(monkeypatch, module)
    await old.open()
    try:
        await old.create_agent(agent())
    finally:
        await old.close()
    monkeypatch.undo()
    upgraded = new_store()
    await upgraded.open()
    try:
        assert "0005_agent_tools" in await upgraded.applied_migrations()
        assert await upgraded.get_agent("alpha") == agent(tools={})
        assert await upgraded.tool_pins("ag_alpha") == {}
    finally:
        await upgraded.close()
