"""Secret files under TAPPASS_HOME: created whole, mode 0600, and the same for every worker.

`create_once(path, content)` writes `content` to a temporary file opened 0600 and links it
to `path`: a link, not a rename, so when several workers start together the first
complete file wins and the others read it back, and no reader ever sees half a key. It
returns False when another process created `path` first.
"""

from __future__ import annotations

import os
from pathlib import Path


def create_once(path: Path, content: bytes) -> bool:
    """Create `path` (0600) holding `content`; False if it already existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True
