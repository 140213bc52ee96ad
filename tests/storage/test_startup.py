"""Start-up refuses storage that cannot take audit writes, with one line saying what to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tappass.errors import StorageError
from tappass.settings import load_settings
from tappass.storage.startup import check_directory, explain, open_store


def test_too_little_free_space_names_the_directory_and_the_amount(tmp_path: Path) -> None:
    needed = shutil.disk_usage(tmp_path).free + 1024 ** 3
    with pytest.raises(StorageError) as caught:
        check_directory(tmp_path / "home", "TAPPASS_HOME", min_free=needed)
    message = str(caught.value)
    assert f"free on the disk holding {tmp_path / 'home'}" in message
    assert "free at least" in message and "set TAPPASS_HOME" in message


@pytest.mark.parametrize(("sqlite_error", "expected"), [
    ("attempt to write a readonly database", "is read-only (SQLite: readonly database): make"),
    ("disk I/O error", "disk I/O error on"),
    ("database or disk is full", "is full (SQLite: database or disk is full): free space"),
])
def test_sqlite_disk_errors_become_what_to_fix(tmp_path: Path, sqlite_error: str,
                                               expected: str) -> None:
    settings = load_settings(storage="local", home=tmp_path)
    line = explain(settings, StorageError(f"SQLite append failed on x: {sqlite_error}"))
    assert expected in line and str(tmp_path / "tappass.db") in line and "\n" not in line


def test_other_errors_pass_through_on_one_line(tmp_path: Path) -> None:
    settings = load_settings(storage="local", home=tmp_path)
    assert explain(settings, StorageError("no such table:\n audit_events")) == \
        "no such table: audit_events"


async def test_a_sqlite_path_outside_home_names_database_url(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = load_settings(storage="local",
                             database_url=f"sqlite:///{blocker / 'db' / 'tappass.db'}")
    with pytest.raises(StorageError, match="set TAPPASS_DATABASE_URL to a writable directory"):
        await open_store(settings)


async def test_open_store_proves_an_audit_write(tmp_path: Path) -> None:
    store = await open_store(load_settings(storage="local", home=tmp_path))
    try:
        assert await store.get_meta("audit_probe_at") is not None
    finally:
        await store.close()
