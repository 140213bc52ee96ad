"""Fixtures for the storage tests: every test runs against each backend.

`store` is an opened store of one backend; `new_store` builds further (unopened) stores on
the same database, for tests about reopening. PostgreSQL tests use a database created for
the session (dropped at the end) and a fresh schema per test.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tappass.storage.base import Store
from tappass.storage.memory import MemoryStore
from tappass.storage.postgres import PostgresStore, mask_url
from tappass.storage.sqlite import SqliteStore

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run setup work on a private loop, so no test's event loop is touched."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _with_database(url: str, database: str, query: str = "") -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}", query=query))


def _server_missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL server is missing under CI=true: {message}", pytrace=False)
    pytest.skip(f"PostgreSQL server is missing: {message}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """URL of a database created for this session on the test server."""
    admin_url = os.environ.get("TAPPASS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        _run(_execute(admin_url, "SELECT 1"))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _server_missing(f"cannot connect to {mask_url(admin_url)}: {exc}")
    name = f"tappass_test_{secrets.token_hex(6)}"
    # Identifiers cannot be parameters; the name is generated above, never user input.
    _run(_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(admin_url, name)
    finally:
        _run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _fresh_postgres_schema(database_url: str) -> str:
    """A new empty schema in the session database; the URL selects it via search_path."""
    schema = f"t_{secrets.token_hex(6)}"
    _run(_execute(database_url, f'CREATE SCHEMA "{schema}"'))
    return urlunsplit(urlsplit(database_url)._replace(query=f"search_path={schema}"))


@pytest.fixture(params=BACKENDS)
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Factory of unopened stores that share this test's (empty) database."""
    if request.param == "memory":
        return MemoryStore
    if request.param == "sqlite":
        path = tmp_path / "data" / "tappass.db"  # parent does not exist yet
        return lambda: SqliteStore(path)
    url = _fresh_postgres_schema(request.getfixturevalue("postgres_database"))
    return lambda: PostgresStore(url)


@pytest.fixture
async def store(new_store: Callable[[], Store]) -> AsyncIterator[Store]:
    opened = new_store()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
