"""Numbered SQL migration files of each backend, read from the installed package.

A backend's migrations live in `tappass/storage/migrations/<backend>/NNNN_name.sql`. They
are applied in prefix order and recorded by file stem (e.g. "0001_init") in the
`schema_migrations` table; every backend has the same list of names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

from tappass.errors import ConfigError

MIGRATIONS_PACKAGE = "tappass.storage.migrations"
NAME_PATTERN = re.compile(r"^(\d{4})_[a-z0-9_]+$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: its stem ("0001_init") and its SQL text."""

    name: str
    sql: str

    @property
    def number(self) -> int:
        return int(self.name[:4])


def migration_names(backend: str) -> list[str]:
    """The stems of the backend's `.sql` files, sorted (unvalidated)."""
    folder = files(MIGRATIONS_PACKAGE).joinpath(backend)
    if not folder.is_dir():
        raise ConfigError(f"no migrations folder for storage backend {backend!r}")
    return sorted(item.name.removesuffix(".sql") for item in folder.iterdir()
                  if item.is_file() and item.name.endswith(".sql"))


def sequence_problems(names: list[str]) -> list[str]:
    """What is wrong with a list of migration stems: bad names, duplicate or missing numbers."""
    problems = [f"{name!r} is not named NNNN_lower_snake" for name in names
                if not NAME_PATTERN.match(name)]
    numbers = [int(name[:4]) for name in names if NAME_PATTERN.match(name)]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    problems += [f"prefix {n:04d} is used more than once" for n in duplicates]
    expected = list(range(1, len(set(numbers)) + 1))
    if sorted(set(numbers)) != expected:
        problems.append(f"prefixes {sorted(set(numbers))} do not run 0001..{len(expected):04d}")
    return problems


def load_migrations(backend: str) -> list[Migration]:
    """The backend's migrations in the order they must run; ConfigError if misnumbered."""
    names = migration_names(backend)
    problems = sequence_problems(names)
    if problems:
        raise ConfigError(f"{backend} migrations are misnumbered: " + "; ".join(problems))
    folder = files(MIGRATIONS_PACKAGE).joinpath(backend)
    return [Migration(name, folder.joinpath(f"{name}.sql").read_text(encoding="utf-8"))
            for name in names]
