"""PostgreSQL for tests: a database created per test session on the machine's server.

Under CI=true a missing server fails the tests instead of skipping them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tappass.storage.postgres import mask_url

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
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


def postgres_database_fixture() -> Iterator[str]:
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


def fresh_postgres_schema(database_url: str) -> str:
    """A new empty schema in the session database; the URL selects it via search_path."""
    schema = f"t_{secrets.token_hex(6)}"
    _run(_execute(database_url, f'CREATE SCHEMA "{schema}"'))
    return urlunsplit(urlsplit(database_url)._replace(query=f"search_path={schema}"))
