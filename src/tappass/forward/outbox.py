"""The outbox: rows to deliver, what the stores keep of them, and the retry policy.

A row names its sink ("siem", or "webhook:<id>"), the audit event it comes from and, for an
alert, the body to send. Rows are written by the stores inside the audit transaction (so
an event committed is an event that will be delivered), read by the sender oldest first,
deleted once the sink acknowledged them, and retried with exponential backoff and jitter
when it did not. After `max_attempts` failures, or at once when the sink refused them as
malformed, they become dead letters: kept, counted in /health/detailed, and requeued by
`POST /admin/siem/dead-letters/retry`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

SIEM_SINK = "siem"
WEBHOOK_PREFIX = "webhook:"
PENDING, DEAD = "pending", "dead"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True, slots=True)
class OutboxRow:
    sink: str
    event_id: str
    payload: str | None = None    # None: send the audit event itself


@dataclass(frozen=True, slots=True)
class OutboxItem:
    seq: int
    sink: str
    event_id: str
    body: str | None               # the payload, or the audit event's JSON; None if gone
    attempts: int
    next_at: datetime


# What a store calls inside its audit transaction: the outbox rows for a batch of events
# (appended, or completed streams); set by the gateway when forwarding is configured.
Route = Callable[[Sequence[Mapping[str, Any]]], list[OutboxRow]]


class OutboxStore(Protocol):
    """The outbox operations every store backend provides as `store.outbox`."""

    async def claim(self, sink: str, holder: str, seconds: float) -> bool:
        """Take or renew the sink's lease for `seconds`; False while another holder has it."""

    async def release(self, sink: str, holder: str) -> None: ...

    async def pending(self, sink: str, limit: int) -> list[OutboxItem]:
        """The sink's oldest pending rows, in order."""

    async def delivered(self, seqs: list[int]) -> None:
        """Delete delivered rows."""

    async def failed(self, seqs: list[int], error: str, next_at: datetime,
                     max_attempts: int, *, permanent: bool = False) -> int:
        """Count an attempt on each row: retry at `next_at`, or make it a dead letter once it
        has failed `max_attempts` times (at once if `permanent`). How many became dead."""

    async def stats(self) -> dict[str, dict[str, Any]]:
        """Per sink: pending and dead counts, the oldest pending time, the last error."""

    async def requeue(self, sink: str | None = None) -> int:
        """Dead letters (of one sink, or all) back to pending, attempts reset; how many."""

    async def drop_sink(self, sink: str) -> int:
        """Forget every row of a sink that no longer exists (a deleted webhook)."""


def backoff(attempts: int, *, base: float = 1.0, cap: float = 300.0,
            rng: random.Random | None = None) -> float:
    """Seconds before the next try after `attempts` failures: exponential, capped, with
    "equal jitter" (half fixed, half random) so senders that failed together spread out."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    jitter: float = (rng or random).uniform(0, ceiling / 2)
    return float(ceiling / 2 + jitter)


def clip_error(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[: MAX_ERROR_CHARS - 1] + "…"
