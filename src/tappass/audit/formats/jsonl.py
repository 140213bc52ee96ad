"""JSON Lines: the audit event exactly as `/v1/audit` returns it (chain fields included once
the audit chain lands), one compact JSON object per line (no newline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def render(event: Mapping[str, Any]) -> str:
    return orjson.dumps(event).decode()
