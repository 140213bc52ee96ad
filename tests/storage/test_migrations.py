"""Migration files: numbered NNNN_name.sql, contiguous from 0001, same names per backend."""

from __future__ import annotations

import pytest

from tappass.errors import ConfigError
from tappass.storage._migrations import load_migrations, migration_names, sequence_problems
from tappass.storage.sqlite import split_statements

SQL_BACKENDS = ["sqlite", "postgres"]


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_prefixes_are_unique_and_contiguous(backend: str) -> None:
    names = migration_names(backend)
    assert names, f"{backend} has no migrations"
    assert sequence_problems(names) == []
    prefixes = [name[:4] for name in names]
    assert len(set(prefixes)) == len(prefixes)
    assert prefixes == [f"{n:04d}" for n in range(1, len(names) + 1)]


def test_backends_have_the_same_migrations() -> None:
    assert migration_names("sqlite") == migration_names("postgres")


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_load_reads_sql_in_order(backend: str) -> None:
    migrations = load_migrations(backend)
    assert [m.name for m in migrations] == migration_names(backend)
    assert [m.number for m in migrations] == list(range(1, len(migrations) + 1))
    assert all("CREATE TABLE audit_events" in m.sql for m in migrations[:1])


@pytest.mark.parametrize(("names", "problem"), [
    (["0001_init", "0001_agents"], "prefix 0001 is used more than once"),
    (["0001_init", "0003_agents"], "do not run 0001..0002"),
    (["0002_init"], "do not run 0001..0001"),
    (["0001_init", "2_agents"], "'2_agents' is not named"),
    (["0001_Init"], "'0001_Init' is not named"),
])
def test_sequence_problems_are_reported(names: list[str], problem: str) -> None:
    assert any(problem in found for found in sequence_problems(names))


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'oracle'"):
        migration_names("oracle")


def test_sqlite_script_split_keeps_statements_whole() -> None:
    sql = ("-- comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');\n"
           "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  DELETE FROM a;\nEND;\n-- trailing\n")
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[0].endswith("DEFAULT ';');")
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
