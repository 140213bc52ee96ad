"""Durable audit writes with group commit.

Each request hands its event to `record()` and waits until the transaction that holds it
has committed. One writer task drains everything that queued up while the previous commit
ran and writes it in a single transaction, so concurrent requests share one commit. A
failed write fails every request in the batch (the caller answers 503): an event is never
dropped silently.

A stream's event is written twice: `record()` before its first byte (status `open`), then
`complete()` replaces it with the outcome when the stream ends. Both go through the same
group commit.

With a chain (`tappass.audit.chain`), the writer task hashes each batch just before its
write and advances the chain head only once the batch committed: one chain per recorder,
so no lock is shared with other workers or hosts.

The recorder also keeps `health` (are writes failing, since when, the last error). While
writes fail, `writable()` lets the health endpoints run a real write probe, at most once
per `probe_interval`, so a gateway that a load balancer has stopped sending traffic to
still notices when the disk or database takes writes again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tappass.audit.chain import AuditChain
from tappass.audit.health import AuditHealth
from tappass.errors import StorageError

if TYPE_CHECKING:
    from tappass.storage.base import Store

log = logging.getLogger("tappass.audit")

_Write = Callable[[list[dict[str, Any]]], Awaitable[None]]


@dataclass(slots=True)
class _Pending:
    event: dict[str, Any]
    future: asyncio.Future[None]
    update: bool  # complete() of an event already written


class AuditRecorder:
    def __init__(self, store: Store, *, batch_max: int = 256,
                 probe_interval: float = 1.0, chain: AuditChain | None = None,
                 on_written: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self._store = store
        self.chain = chain
        self._on_written = on_written
        self._batch_max = batch_max
        self._probe_interval = probe_interval
        self._probe: asyncio.Task[None] | None = None
        self._probe_started = -probe_interval
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.written = 0
        self.failed = 0
        self.batches = 0
        self.health = AuditHealth()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audit-writer")

    async def record(self, event: dict[str, Any]) -> None:
        """Return once the event is committed; raise StorageError if it could not be."""
        await self._submit(event, update=False)

    async def complete(self, event: dict[str, Any]) -> None:
        """Replace an event written earlier by `record()` (same id); durable on return."""
        await self._submit(event, update=True)

    async def _submit(self, event: dict[str, Any], *, update: bool) -> None:
        if self._closing or self._task is None:
            raise StorageError("audit writer is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(event, future, update))
        self._wake.set()
        await future

    async def _run(self) -> None:
        while not (self._closing and not self._pending):
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._pending[: self._batch_max]
            del self._pending[: len(batch)]
            updates = [p for p in batch if p.update]
            if len(updates) < len(batch):
                await self._write([p for p in batch if not p.update], self._store.append_audit)
            if updates:
                await self._write(updates, self._store.update_audit)

    async def _write(self, batch: list[_Pending], write: _Write) -> None:
        events = [p.event for p in batch]
        try:
            sealed = None if self.chain is None else self.chain.seal(events,
                                                                     completion=batch[0].update)
            await write(events)
        except Exception as exc:
            self.failed += len(batch)
            self.health.failed(exc)
            log.error("audit write of %d events failed: %s", len(batch), exc)
            error = exc if isinstance(exc, StorageError) else StorageError(str(exc))
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(error)
            return
        if sealed is not None and self.chain is not None:
            self.chain.commit(sealed)
        self.written += len(batch)
        self.batches += 1
        self._succeeded()
        for p in batch:
            if not p.future.done():
                p.future.set_result(None)
        self._notify(events)

    def _notify(self, events: list[dict[str, Any]]) -> None:
        """Hand committed events to the metrics; their failure never fails a write."""
        if self._on_written is None:
            return
        try:
            self._on_written(events)
        except Exception:
            log.exception("observing %d committed audit events failed", len(events))

    def _succeeded(self) -> None:
        began = self.health.succeeded()
        if began is not None:
            log.warning("audit writes succeed again (failing since %s)", began.isoformat())

    async def writable(self, timeout: float) -> bool:
        """True unless audit writes are failing; while they are, first try a write probe
        (at most one per probe interval, shared by concurrent callers, waited for at most
        `timeout` seconds) and end the failing period when it succeeds."""
        if not self.health.failing:
            return True
        if self._probe is None or self._probe.done():
            if time.monotonic() - self._probe_started < self._probe_interval:
                return False
            self._probe_started = time.monotonic()
            self._probe = asyncio.get_running_loop().create_task(self._run_probe(),
                                                                 name="audit-probe")
        try:  # shielded: a slow probe keeps running (and is reused) after the caller gives up
            await asyncio.wait_for(asyncio.shield(self._probe), timeout)
        except TimeoutError:
            return False
        return not self.health.failing

    async def _run_probe(self) -> None:
        try:
            await self._store.probe_audit_write()
        except Exception as exc:
            self.health.failed(exc)
            return
        self._succeeded()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and not self._closing

    @property
    def queued(self) -> int:
        return len(self._pending)

    async def close(self) -> None:
        """Write everything still queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
