"""Custom pipelines in the Store contract, run against every backend (memory, sqlite, postgres)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from tappass.errors import StorageError
from tappass.storage import _migrations
from tappass.storage.base import AgentRecord, PipelineRecord, Store
from tests.storage_helpers import insert_agents_as_before_0003

T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
MIGRATION_BACKEND = {"local": "sqlite", "postgres": "postgres"}
BACKEND_MODULE = {"local": "tappass.storage.sqlite", "postgres": "tappass.storage.postgres"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def spec(base: str = "standard", **changes: Any) -> dict[str, Any]:
    return {"base": base, "description": f"{base} with PII redaction",
            "enable": ["detect_pii"], "disable": ["tracking"],
            "overrides": {"detect_pii": {"threshold": 0.8}}, **changes}


def pipeline(name: str = "strict-pii", **changes: Any) -> PipelineRecord:
    record = PipelineRecord(name=name, spec=spec(), created_at=at(1.5), updated_at=at(2.25))
    return replace(record, **changes)


async def test_pipeline_round_trip(store: Store) -> None:
    record = pipeline()
    await store.save_pipeline(record)
    got = await store.get_pipeline("strict-pii")
    assert got == record
    assert got is not None
    assert got.created_at.tzinfo == UTC and got.updated_at.tzinfo == UTC


async def test_pipeline_times_come_back_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    await store.save_pipeline(pipeline(created_at=at(0).astimezone(plus_two),
                                       updated_at=datetime(2026, 11, 26, 0, 0, 7)))  # naive
    got = await store.get_pipeline("strict-pii")
    assert got is not None
    assert got.created_at == at(0) and got.created_at.tzinfo == UTC
    assert got.updated_at == at(7) and got.updated_at.tzinfo == UTC


async def test_missing_pipeline_is_none(store: Store) -> None:
    assert await store.get_pipeline("nobody") is None
    await store.save_pipeline(pipeline())
    assert await store.get_pipeline("nobody") is None
    assert await store.get_pipeline("STRICT-PII") is None  # names are case-sensitive


async def test_replace_keeps_created_at(store: Store) -> None:
    await store.save_pipeline(pipeline())
    await store.save_pipeline(pipeline("other"))
    changed = pipeline(spec=spec("regulated", enable=[], overrides={}),
                       created_at=at(50), updated_at=at(99))
    await store.save_pipeline(changed)
    got = await store.get_pipeline("strict-pii")
    # spec and updated_at are replaced; the stored created_at stays
    assert got == replace(changed, created_at=pipeline().created_at)
    assert await store.get_pipeline("other") == pipeline("other")
    assert await store.list_pipelines() == [pipeline("other"), got]


async def test_list_pipelines_by_name(store: Store) -> None:
    assert await store.list_pipelines() == []
    names = ["mike", "alpha", "zulu", "bravo", "Zulu", "a-b", "ab", "a_c"]
    for n, name in enumerate(names):
        await store.save_pipeline(pipeline(name, spec=spec(description=f"#{n}")))
    listed = await store.list_pipelines()
    assert [p.name for p in listed] == sorted(names)  # code-point order on every backend
    assert all(p == pipeline(p.name, spec=spec(description=f"#{names.index(p.name)}"))
               for p in listed)


async def test_delete_pipeline(store: Store) -> None:
    await store.save_pipeline(pipeline())
    await store.save_pipeline(pipeline("other"))
    assert await store.delete_pipeline("strict-pii") is True
    assert await store.delete_pipeline("strict-pii") is False
    assert await store.delete_pipeline("never-saved") is False
    assert await store.get_pipeline("strict-pii") is None
    assert await store.list_pipelines() == [pipeline("other")]
    # saved again after a delete it is new: its own created_at counts
    await store.save_pipeline(pipeline(created_at=at(60), updated_at=at(60)))
    assert await store.get_pipeline("strict-pii") == pipeline(created_at=at(60),
                                                              updated_at=at(60))


async def test_nested_spec_round_trips_exactly(store: Store) -> None:
    sent = {"zeta": True, "base": "regulated",
            "description": "naïve \u201cquotes\u201d \u0000 and 😀",
            "enable": ["detect_pii", "redact_secrets"], "disable": [],
            "overrides": {"detect_pii": {"threshold": 0.85, "types": ["EMAIL", "IBAN"],
                                         "score": 1e-7, "big": 1.5e300, "count": 3,
                                         "fallback": None, "strict": False},
                          "nested": {"b": {"a": [1, [2, {}], {"c": [None, "x"]}]}}},
            "alpha": {}}
    await store.save_pipeline(pipeline(spec=sent))
    got = await store.get_pipeline("strict-pii")
    assert got is not None and got.spec == sent
    assert orjson.dumps(got.spec) == orjson.dumps(sent)  # same key order and number forms
    listed = await store.list_pipelines()
    assert orjson.dumps(listed[0].spec) == orjson.dumps(sent)


async def test_returned_pipelines_are_copies(store: Store) -> None:
    record = pipeline()
    await store.save_pipeline(record)
    record.spec["enable"].append("changed-after-save")
    got = await store.get_pipeline("strict-pii")
    assert got is not None
    got.spec["overrides"]["detect_pii"]["threshold"] = 0.1
    got.spec.clear()
    (await store.list_pipelines())[0].spec["disable"].clear()
    assert await store.get_pipeline("strict-pii") == pipeline()


async def test_unstorable_spec_raises_and_keeps_the_stored_one(store: Store) -> None:
    with pytest.raises(StorageError, match="JSON"):
        await store.save_pipeline(pipeline("new", spec={"enable": {1, 2}}))
    assert await store.get_pipeline("new") is None
    await store.save_pipeline(pipeline())
    with pytest.raises(StorageError, match="JSON"):
        await store.save_pipeline(pipeline(spec={"overrides": object()}, updated_at=at(99)))
    assert await store.get_pipeline("strict-pii") == pipeline()


async def test_concurrent_saves_all_land(store: Store) -> None:
    await asyncio.gather(
        *(store.save_pipeline(pipeline(f"p{n:02d}")) for n in range(15)),
        *(store.save_pipeline(pipeline("shared", updated_at=at(n))) for n in range(15)))
    listed = await store.list_pipelines()
    assert [p.name for p in listed] == [f"p{n:02d}" for n in range(15)] + ["shared"]
    assert listed[-1].created_at == at(1.5)


async def test_pipelines_are_kept_on_reopen(new_store: Callable[[], Store]) -> None:
    first = new_store()
    await first.open()
    try:
        await first.save_pipeline(pipeline())
    finally:
        await first.close()
    if first.kind == "memory":
        return  # nothing survives the process, and a new MemoryStore is a new process
    second = new_store()
    await second.open()
    try:
        assert await second.list_pipelines() == [pipeline()]
    finally:
        await second.close()


async def test_database_at_0001_gets_0002_on_open(new_store: Callable[[], Store],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A database left by a gateway that only knew 0001_init is upgraded in place."""
    old = new_store()
    if old.kind == "memory":
        pytest.skip("the memory store has no schema")
    backend = MIGRATION_BACKEND[old.kind]
    module = importlib.import_module(BACKEND_MODULE[old.kind])
    # the previous release: its migrations folder held only 0001_init
    monkeypatch.setattr(module, "load_migrations",
                        lambda name: _migrations.load_migrations(name)[:1])
    insert_agents_as_before_0003(monkeypatch, module)
    agent = AgentRecord(id="ag_alpha", name="alpha", preset="standard", flags={"mode": "enforce"},
                        enabled=True, key_prefix="tp_alpha", key_hash="ab" * 32,
                        created_at=at(1), updated_at=at(2))
    await old.open()
    try:
        assert await old.applied_migrations() == ["0001_init"]
        with pytest.raises(StorageError):
            await old.get_pipeline("strict-pii")  # no pipelines table yet
        await old.create_agent(agent)
        await old.set_meta("admin_key_hash", "kept")
    finally:
        await old.close()
    monkeypatch.undo()

    upgraded = new_store()
    await upgraded.open()
    try:
        applied = await upgraded.applied_migrations()
        assert applied[:2] == ["0001_init", "0002_pipelines"]
        assert applied == _migrations.migration_names(backend)
        assert await upgraded.get_agent("alpha") == agent  # existing data is untouched
        assert await upgraded.get_meta("admin_key_hash") == "kept"
        assert await upgraded.list_pipelines() == []
        await upgraded.save_pipeline(pipeline())
        assert await upgraded.get_pipeline("strict-pii") == pipeline()
    finally:
        await upgraded.close()
    again = new_store()  # a further open applies nothing twice
    await again.open()
    try:
        assert await again.applied_migrations() == applied
        assert await again.list_pipelines() == [pipeline()]
    finally:
        await again.close()
