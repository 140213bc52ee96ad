"""The background sender: one per gateway process, delivering the outbox sink by sink.

For each sink it first takes the sink's lease in the store (so across workers and hosts
only one process sends a given sink, and nothing is sent twice by two senders), then sends
the oldest pending rows in batches, in order. A delivered batch is deleted; a failed one is
retried after an exponential backoff with jitter, and the sink waits for it (order is kept)
until its rows become dead letters, after which the rows behind it move on. The lease is
renewed while a sink has work and released when the process stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tappass.forward.destinations import DeliveryError, Destination
from tappass.forward.outbox import OutboxItem, backoff, clip_error

if TYPE_CHECKING:
    from tappass.forward.outbox import OutboxStore

log = logging.getLogger("tappass.forward")
LEASE_SECONDS = 20.0  # > the 10 s send timeout; a killed sender's sinks wait this long
MAX_BATCHES_PER_TURN = 20
# After a wake-up (an event was routed), wait this long before sending, so that the events
# of the next moments go in the same batch: at low traffic one HTTP request per event would
# cost more CPU than the request itself; alerts still leave within a fraction of a second.
LINGER_SECONDS = 0.25


@dataclass(slots=True)
class SinkCounters:
    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    last_error: str | None = None
    last_delivery_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed_attempts": self.failed_attempts,
                "dead_lettered": self.dead_lettered, "last_error": self.last_error,
                "last_delivery_at": self.last_delivery_at}


@dataclass(slots=True)
class SenderPolicy:
    batch_max: int = 100
    max_attempts: int = 12
    retry_max_seconds: float = 300.0
    poll_seconds: float = 0.5


@dataclass
class Sender:
    outbox: OutboxStore
    policy: SenderPolicy
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:"
                        f"{secrets.token_hex(4)}")
    counters: dict[str, SinkCounters] = field(default_factory=dict)
    _held: dict[str, float] = field(default_factory=dict)   # sink -> when the lease was taken

    def _count(self, sink: str) -> SinkCounters:
        return self.counters.setdefault(sink, SinkCounters())

    async def drain(self, sink: str, destination: Destination) -> None:
        """Send what is due for this sink, if this process holds (or can take) its lease.

        The queue is read first (a read costs less than taking the lease, and an idle sink
        is the common case); the lease is taken before anything is sent and renewed once
        half of it has passed."""
        for _ in range(MAX_BATCHES_PER_TURN):
            items = await self.outbox.pending(sink, self.policy.batch_max)
            now = datetime.now(UTC)
            due = _due_prefix(items, now)
            if not due:
                return
            held_before = sink in self._held
            if not await self._lease(sink):
                return
            if not held_before:  # just taken over: read again what the last holder left
                due = _due_prefix(await self.outbox.pending(sink, self.policy.batch_max), now)
            if not due or not await self._send(sink, destination, due, now):
                return
            if len(items) < self.policy.batch_max:  # caught up: the rest waits for the
                return                               # next turn, to fill a batch

    async def _lease(self, sink: str) -> bool:
        taken = self._held.get(sink)
        if taken is not None and time.monotonic() - taken < LEASE_SECONDS / 2:
            return True
        if not await self.outbox.claim(sink, self.holder, LEASE_SECONDS):
            self._held.pop(sink, None)
            return False
        self._held[sink] = time.monotonic()
        return True

    async def _send(self, sink: str, destination: Destination, due: list[OutboxItem],
                    now: datetime) -> bool:
        gone = [item.seq for item in due if item.body is None]
        if gone:  # the audit event is no longer stored: nothing to send, keep it visible
            await self.outbox.failed(gone, "the audit event is no longer stored", now,
                                     self.policy.max_attempts, permanent=True)
            return True
        counters = self._count(sink)
        try:
            await destination.send(due)
        except DeliveryError as exc:
            await self.outbox.delivered([item.seq for item in due[:exc.sent]])
            counters.delivered += exc.sent
            await self._failed(sink, due[exc.sent:], exc, now)
            return False
        await self.outbox.delivered([item.seq for item in due])
        counters.delivered += len(due)
        counters.last_delivery_at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
        return True

    async def _failed(self, sink: str, items: list[OutboxItem], exc: DeliveryError,
                      now: datetime) -> None:
        counters = self._count(sink)
        attempts = max(item.attempts for item in items) + 1
        wait = backoff(attempts, cap=self.policy.retry_max_seconds)
        dead = await self.outbox.failed([item.seq for item in items], str(exc),
                                        now + timedelta(seconds=wait),
                                        self.policy.max_attempts, permanent=exc.permanent)
        counters.failed_attempts += 1
        counters.dead_lettered += dead
        counters.last_error = clip_error(str(exc))
        log.warning("forwarding to %s failed (attempt %d, %d events%s): %s", sink, attempts,
                    len(items), f", {dead} now dead letters" if dead else
                    f", next try in {wait:.1f} s", exc)

    async def release_all(self) -> None:
        for sink in list(self._held):
            try:
                await self.outbox.release(sink, self.holder)
            except Exception as exc:  # stopping anyway: the lease expires by itself
                log.warning("could not release the %s lease: %s", sink, exc)
        self._held.clear()


def _due_prefix(items: list[OutboxItem], now: datetime) -> list[OutboxItem]:
    """The leading rows whose retry time has come (a row waiting holds back those behind)."""
    due: list[OutboxItem] = []
    for item in items:
        if item.next_at > now:
            break
        due.append(item)
    return due


class SenderLoop:
    """Runs `cycle()` whenever woken (an event was routed here) or every poll interval."""

    def __init__(self, cycle: Any, poll_seconds: float) -> None:
        self._cycle = cycle
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="forwarder")

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll)
                await asyncio.sleep(min(LINGER_SECONDS, self._poll))
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._cycle()
                self.last_error = None
            except Exception as exc:  # the store is down: try again next turn
                self.last_error = clip_error(str(exc))
                log.warning("forwarding paused: %s", exc)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
