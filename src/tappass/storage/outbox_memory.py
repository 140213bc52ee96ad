"""The outbox in memory (see `tappass.forward.outbox`), for the memory store: same contract,
gone with the process like everything else there."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tappass.forward.outbox import DEAD, PENDING, OutboxItem, OutboxRow, clip_error
from tappass.storage._rows import format_ts

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(slots=True)
class _Row:
    seq: int
    row: OutboxRow
    created_at: datetime
    next_at: datetime
    state: str = PENDING
    attempts: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class MemoryOutbox:
    body_of: Callable[[str], str | None]        # audit event id -> its JSON body
    _rows: dict[int, _Row] = field(default_factory=dict)
    _leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def insert(self, rows: list[OutboxRow]) -> None:
        now = datetime.now(UTC)
        for row in rows:
            seq = next(self._seq)
            self._rows[seq] = _Row(seq, row, now, now)

    async def claim(self, sink: str, holder: str, seconds: float) -> bool:
        now = datetime.now(UTC)
        current = self._leases.get(sink)
        if current is not None and current[0] != holder and current[1] >= now:
            return False
        self._leases[sink] = (holder, now + timedelta(seconds=seconds))
        return True

    async def release(self, sink: str, holder: str) -> None:
        if self._leases.get(sink, ("",))[0] == holder:
            del self._leases[sink]

    async def pending(self, sink: str, limit: int) -> list[OutboxItem]:
        rows = [r for r in self._rows.values() if r.row.sink == sink and r.state == PENDING]
        return [OutboxItem(r.seq, sink, r.row.event_id,
                           r.row.payload if r.row.payload is not None
                           else self.body_of(r.row.event_id), r.attempts, r.next_at)
                for r in rows[:limit]]

    async def delivered(self, seqs: list[int]) -> None:
        for seq in seqs:
            self._rows.pop(seq, None)

    async def failed(self, seqs: list[int], error: str, next_at: datetime,
                     max_attempts: int, *, permanent: bool = False) -> int:
        dead = 0
        for seq in seqs:
            row = self._rows[seq]
            row.attempts += 1
            row.last_error, row.next_at = clip_error(error), next_at
            if permanent or row.attempts >= max_attempts:
                row.state = DEAD
                dead += 1
        return dead

    async def stats(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row in self._rows.values():
            entry = out.setdefault(row.row.sink, {"pending": 0, "dead": 0,
                                                  "oldest_pending": None, "last_error": None})
            entry[row.state] += 1
            if row.state == PENDING and entry["oldest_pending"] is None:
                entry["oldest_pending"] = format_ts(row.created_at)
            entry["last_error"] = row.last_error or entry["last_error"]
        return out

    async def requeue(self, sink: str | None = None) -> int:
        count = 0
        for row in self._rows.values():
            if row.state == DEAD and sink in (None, row.row.sink):
                row.state, row.attempts, row.next_at = PENDING, 0, datetime.now(UTC)
                count += 1
        return count

    async def drop_sink(self, sink: str) -> int:
        doomed = [seq for seq, row in self._rows.items() if row.row.sink == sink]
        for seq in doomed:
            del self._rows[seq]
        self._leases.pop(sink, None)
        return len(doomed)
