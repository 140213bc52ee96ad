"""Fixtures for the storage tests: every test runs against each backend.

`store` is an opened store of one backend; `new_store` builds further (unopened) stores on
the same database, for tests about reopening. PostgreSQL tests use a database created for
the session (dropped at the end) and a fresh schema per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tappass.storage.base import Store
from tappass.storage.memory import MemoryStore
from tappass.storage.postgres import PostgresStore
from tappass.storage.sqlite import SqliteStore
from tests.support.postgres import fresh_postgres_schema

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Factory of unopened stores that share this test's (empty) database."""
    if request.param == "memory":
        return MemoryStore
    if request.param == "sqlite":
        path = tmp_path / "data" / "tappass.db"  # parent does not exist yet
        return lambda: SqliteStore(path)
    url = fresh_postgres_schema(request.getfixturevalue("postgres_database"))
    return lambda: PostgresStore(url)


@pytest.fixture
async def store(new_store: Callable[[], Store]) -> AsyncIterator[Store]:
    opened = new_store()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
