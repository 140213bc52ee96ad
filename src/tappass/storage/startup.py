"""Open the store for serving, or refuse start-up with one line that says what to fix.

`open_store(settings)` checks that the SQLite file's directory (TAPPASS_HOME by default)
exists or can be created, takes a real write and has free space; opens the store; and
proves that an audit write commits (`probe_audit_write`). A gateway that cannot write its
audit trail would refuse every request, so it does not start. Every failure is a
StorageError whose message is a single line naming the directory or database and what to
free or fix; the CLI prints it and exits non-zero.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tappass.audit.health import one_line
from tappass.errors import StorageError
from tappass.storage import create_store

if TYPE_CHECKING:
    from tappass.settings import Settings
    from tappass.storage.base import Store

MIN_FREE_BYTES = 16 * 1024 * 1024
_WRITE_TEST_BYTES = 4096
_MB = 1024 * 1024
# sqlite3 messages for a disk that cannot take writes, and what to do about each
_SQLITE_FULL = ("database or disk is full",)
_SQLITE_READ_ONLY = ("readonly database", "read-only")
_SQLITE_IO = ("disk I/O error",)
_POSTGRES_CANNOT_WRITE = ("No space left on device", "could not extend file",
                          "read-only transaction", "Disk quota exceeded")


async def open_store(settings: Settings) -> Store:
    """The opened store, after proving it can commit an audit write."""
    where = _setting_for(settings)
    if settings.storage_kind == "local":
        check_directory(settings.sqlite_path.parent, where)
    store = create_store(settings)
    try:
        await store.open()
        await store.probe_audit_write()
    except StorageError as exc:
        await store.close()
        raise StorageError(explain(settings, exc)) from exc
    return store


def check_directory(directory: Path, setting: str, min_free: int = MIN_FREE_BYTES) -> None:
    """Raise StorageError unless `directory` can be created, written and has `min_free`."""
    elsewhere = f"or set {setting} to a directory on a disk with room"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_test_file(directory)
    except OSError as exc:
        raise StorageError(_os_problem(directory, exc, setting)) from exc
    free = shutil.disk_usage(directory).free
    if free < min_free:
        raise StorageError(
            f"only {free / _MB:.1f} MB free on the disk holding {directory}: free at least "
            f"{min_free / _MB:.0f} MB there (audit events are written to it), {elsewhere}")


def _write_test_file(directory: Path) -> None:
    with tempfile.TemporaryFile(dir=directory, prefix=".tappass-write-test-") as handle:
        handle.write(b"\0" * _WRITE_TEST_BYTES)
        handle.flush()
        os.fsync(handle.fileno())


def _os_problem(directory: Path, exc: OSError, setting: str) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"the disk holding {directory} is full ({reason}): free space there, or set "
                f"{setting} to a directory on a disk with room")
    if exc.errno == errno.ENOTDIR:
        return (f"cannot create the data directory {directory}: a part of that path is a "
                f"file, not a directory; remove or rename that file, or set {setting} to a "
                "writable directory")
    return (f"the data directory {directory} is not writable ({reason}): make it writable by "
            f"the user running the gateway (and check the disk is not mounted read-only), "
            f"or set {setting} to a writable directory")


def explain(settings: Settings, exc: StorageError) -> str:
    """One line for a store that failed to open or to write: what to free or fix."""
    message = one_line(str(exc))
    if settings.storage_kind == "local":
        path, setting = settings.sqlite_path, _setting_for(settings)
        if _mentions(message, _SQLITE_FULL):
            return (f"the disk holding {path} is full (SQLite: database or disk is full): "
                    f"free space there, or set {setting} to a directory on a disk with room")
        if _mentions(message, _SQLITE_READ_ONLY):
            return (f"{path} is read-only (SQLite: readonly database): make the file and its "
                    f"directory writable by the user running the gateway (and check the disk "
                    f"is not mounted read-only), or set {setting} to a writable directory")
        if _mentions(message, _SQLITE_IO):
            return (f"disk I/O error on {path}: check that the disk holding it has free "
                    f"space, is not mounted read-only and is not failing; or set {setting} "
                    f"to a directory on another disk")
    if settings.storage_kind == "postgres" and _mentions(message, _POSTGRES_CANNOT_WRITE):
        return (f"PostgreSQL cannot write ({message}): free disk space on the database "
                "server, or point TAPPASS_DATABASE_URL at a writable primary")
    return message


def _mentions(message: str, needles: tuple[str, ...]) -> bool:
    lowered = message.lower()
    return any(needle.lower() in lowered for needle in needles)


def _setting_for(settings: Settings) -> str:
    if settings.database_url and settings.database_url.startswith("sqlite:///"):
        return "TAPPASS_DATABASE_URL"
    return "TAPPASS_HOME"
