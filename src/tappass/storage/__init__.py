"""Storage backends behind one narrow `Store` protocol.

Backends are named in a table and imported only when chosen, so a SQLite user never
imports asyncpg.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from tappass.settings import Settings
    from tappass.storage.base import Store

BACKENDS = {
    "memory": "tappass.storage.memory:MemoryStore",
    "local": "tappass.storage.sqlite:SqliteStore",
    "postgres": "tappass.storage.postgres:PostgresStore",
}


def create_store(settings: Settings) -> Store:
    """Build (but do not open) the store the settings select."""
    module_name, _, cls_name = BACKENDS[settings.storage_kind].partition(":")
    cls: Any = getattr(importlib.import_module(module_name), cls_name)
    if settings.storage_kind == "local":
        store = cls(settings.sqlite_path)
    elif settings.storage_kind == "postgres":
        store = cls(settings.database_url)
    else:
        store = cls()
    return cast("Store", store)
