"""A cheap cross-process signal that configuration changed (agents, keys, pipelines).

Worker processes on one machine share TAPPASS_HOME. A change bumps a small file there;
before each request a worker compares the file's stat with what it last saw (about a
microsecond) and, when it moved, drops its caches and reloads. So a rotated key or a new
pipeline is used by the next request in every worker, not after a cache expires.
Gateways on other machines (PostgreSQL deployments) also poll the database's version.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger("tappass.changes")


class ChangeSignal:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._seen: tuple[int, int, int] | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    path.write_text("0")
            except OSError as exc:
                log.warning("config change signal disabled (%s); workers rely on polling", exc)
                self._path = None
        self._seen = self._stat()

    def _stat(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def changed(self) -> bool:
        """True once after another process (or this one) bumped the signal."""
        current = self._stat()
        if current == self._seen:
            return False
        self._seen = current
        return True

    def bump(self) -> None:
        if self._path is None:
            return
        tmp = self._path.with_suffix(".tmp")
        try:
            tmp.write_text(str(time.time_ns()))
            os.replace(tmp, self._path)  # new inode: visible even when mtimes tie
        except OSError as exc:
            log.warning("could not signal a config change: %s", exc)
