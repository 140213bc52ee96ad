"""The write probe shared by the backends: a throwaway audit row that is never kept.

`probe_audit_write()` inserts this row inside a savepoint and rolls the insert back, then
records the time under `PROBE_META_KEY`; the commit of that meta write is what proves the
disk takes writes. The row goes through the same checks (`event_row`) as a real event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tappass.storage._rows import EventRow, event_row

PROBE_META_KEY = "audit_probe_at"
PROBE_SAVEPOINT = "tappass_audit_probe"


def probe_event(now: datetime) -> dict[str, Any]:
    return {"id": f"ae_probe_{now.strftime('%Y%m%dT%H%M%S%f')}", "timestamp": now,
            "agent": None, "status": "probe", "blocked": False, "cost_usd": None}


def probe_row() -> tuple[EventRow, datetime]:
    """The probe row and the time it was made (also the value stored in meta)."""
    now = datetime.now(UTC)
    return event_row(probe_event(now)), now
