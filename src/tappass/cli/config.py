"""The CLI's local config: where the gateway is and the admin key `tappass up` generated.

Kept in $TAPPASS_HOME/cli.json with mode 0600, like other credential files. Environment
variables (TAPPASS_URL, TAPPASS_ADMIN_API_KEY) win over it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FILE_NAME = "cli.json"
DEFAULT_URL = "http://127.0.0.1:9620"


def home() -> Path:
    return Path(os.environ.get("TAPPASS_HOME") or Path.home() / ".tappass")


def load(base: Path | None = None) -> dict[str, Any]:
    path = (base or home()) / FILE_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(base: Path, **values: Any) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    path = base / FILE_NAME
    data = {**load(base), **values}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(path, 0o600)
    return path


def remember_url(base: Path, url: str) -> None:
    if load(base).get("url") != url:
        save(base, url=url)


def gateway_url() -> str:
    return (os.environ.get("TAPPASS_URL") or load().get("url") or DEFAULT_URL).rstrip("/")


def admin_key() -> str | None:
    return os.environ.get("TAPPASS_ADMIN_API_KEY") or load().get("admin_key")
