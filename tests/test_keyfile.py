"""Secret files: created whole with mode 0600, and the first writer wins."""

from __future__ import annotations

import stat
from pathlib import Path

from tappass.keyfile import create_once


def test_the_first_writer_wins_and_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "key.pem"
    assert create_once(path, b"first") is True
    assert create_once(path, b"second") is False
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["key.pem"]   # no temporary left
