"""JSON Lines: the audit event as stored, one compact JSON object per line (no newline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def render(event: Mapping[str, Any]) -> str:
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode()
