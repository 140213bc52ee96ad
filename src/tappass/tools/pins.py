"""Tool definitions pinned by SHA-256: first sight wins, a changed definition is a rug pull.

Per agent, pins are kept in the database (`Store.pin_tool`). Per session they are kept
behind `ToolPins`, a small async protocol whose in-process implementation is bounded; a
shared key-value backend can implement the same two methods.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Protocol

import orjson

MAX_SESSIONS = 10_000


def definition_hash(tool: dict[str, Any]) -> str:
    """SHA-256 hex of the whole definition, keys sorted, so key order does not matter."""
    return hashlib.sha256(orjson.dumps(tool, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ToolPins(Protocol):
    async def get(self, session_id: str, tool: str) -> str | None: ...

    async def put(self, session_id: str, tool: str, sha256: str) -> str:
        """Pin unless pinned already; the pinned hash either way."""


class MemoryToolPins:
    """Pins of the most recent sessions of this process (least recently used dropped)."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self._sessions: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._max = max_sessions

    async def get(self, session_id: str, tool: str) -> str | None:
        pins = self._sessions.get(session_id)
        return None if pins is None else pins.get(tool)

    async def put(self, session_id: str, tool: str, sha256: str) -> str:
        pins = self._sessions.pop(session_id, None) or {}
        self._sessions[session_id] = pins   # most recent last
        if len(self._sessions) > self._max:
            self._sessions.popitem(last=False)
        return pins.setdefault(tool, sha256)
