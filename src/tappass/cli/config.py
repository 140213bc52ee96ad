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
ENV_KEY = "TAPPASS_ADMIN_API_KEY"
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
    """Merge `values` into the file (a None value removes that entry)."""
    base.mkdir(parents=True, exist_ok=True)
    path = base / FILE_NAME
    data = {k: v for k, v in {**load(base), **values}.items() if v is not None}
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
    return find_admin_key()[0]


def find_admin_key() -> tuple[str | None, str]:
    """(the admin key, where it came from): TAPPASS_ADMIN_API_KEY, else cli.json."""
    env = (os.environ.get(ENV_KEY) or "").strip()
    if env:
        return env, ENV_KEY
    path = home() / FILE_NAME
    key = load().get("admin_key")
    return (key if isinstance(key, str) and key else None), str(path)


def key_search_report() -> str:
    """Where the CLI looked for an admin key, for the message when it found none."""
    path = home() / FILE_NAME
    saved = load()
    if not path.exists():
        where = f"{path} does not exist"
    elif saved.get("gateway_key_from_env"):
        where = (f"{path} holds no key because the gateway was started with "
                 f"{ENV_KEY} set (it saves only a key it generates)")
    else:
        where = f"{path} holds no admin_key"
    return f"{ENV_KEY} is not set in this shell, and {where}"
