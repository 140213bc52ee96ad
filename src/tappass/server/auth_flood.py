"""Failed-authentication flood guard: one client address, a fixed window, a threshold.

Every failed authentication is audited, up to `limit` per client address per window. Past
that, the address's further failures in the window are answered 429 and not audited one by
one: when the window ends, one summary event records how many were refused. The table of
addresses is bounded (`max_clients`): expired windows are dropped first, then the oldest,
whose summary is then written early.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tappass import keys
from tappass.audit.events import bare_event
from tappass.clip import clip
from tappass.errors import StorageError
from tappass.server.responses import error

log = logging.getLogger("tappass.auth")

MAX_CLIENTS = 10_000
Record = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(slots=True, eq=False)
class _Window:
    client: str
    start: float
    failures: int = 0
    refused: int = 0
    summary: asyncio.TimerHandle | None = None


class AuthFloodGuard:
    def __init__(self, limit: int, window: float, record: Record, *,
                 max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._record = record
        self._max_clients = max_clients
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._pending: set[_Window] = set()  # windows whose summary is due
        self._tasks: set[asyncio.Task[None]] = set()

    def failed(self, client: str) -> float | None:
        """Count one failed authentication from `client`.

        None while the address is within the limit (audit the failure as usual); else the
        seconds until its window ends (answer 429 with that Retry-After; the failure is
        counted in the window's summary event).
        """
        now = self._clock()
        entry = self._windows.get(client)
        if entry is None or now - entry.start >= self.window:
            entry = self._open(client, now)
        entry.failures += 1
        if entry.failures <= self.limit:
            return None
        entry.refused += 1
        remaining = max(entry.start + self.window - now, 0.0)
        if entry.summary is None:
            entry.summary = asyncio.get_running_loop().call_later(
                remaining, self._summarise, entry)
            self._pending.add(entry)
        return remaining

    def _open(self, client: str, now: float) -> _Window:
        self._windows.pop(client, None)
        if len(self._windows) >= self._max_clients:
            self._evict(now)
        entry = self._windows[client] = _Window(client, now)
        return entry

    def _evict(self, now: float) -> None:
        """Drop the oldest windows (the table keeps opening order): the expired, else one."""
        while self._windows:
            oldest = next(iter(self._windows.values()))
            if now - oldest.start < self.window and len(self._windows) < self._max_clients:
                return
            del self._windows[oldest.client]
            if oldest.summary is not None:  # its summary is written now, not forgotten
                oldest.summary.cancel()
                self._summarise(oldest)

    def _summarise(self, entry: _Window) -> None:
        entry.summary = None
        self._pending.discard(entry)
        if entry.refused:
            task = asyncio.get_running_loop().create_task(self._write(entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write(self, entry: _Window) -> None:
        refused, entry.refused = entry.refused, 0
        try:
            await self._record(summary_event(entry.client, refused, self.limit, self.window))
        except StorageError as exc:
            log.error("could not audit %d refused authentications from %s: %s", refused,
                      clip(entry.client, 64), exc)

    async def close(self) -> None:
        """Write the summaries of windows still open (at shutdown), then wait for them."""
        for entry in list(self._pending):
            if entry.summary is not None:
                entry.summary.cancel()
            self._summarise(entry)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def summary_event(client: str, refused: int, limit: int, window: float) -> dict[str, Any]:
    """One audit event for a window's refused failures (never any part of a presented key)."""
    shown = clip(client, 64)
    event = bare_event(
        keys.new_id("ae"), agent=None, agent_id=None, status="blocked", http_status=429,
        blocked_by="authentication",
        reason=f"{refused} more failed authentications from {shown} refused with 429 after "
               f"{limit} within {window:g} s (TAPPASS_AUTH_FAILURE_LIMIT per "
               f"TAPPASS_AUTH_FAILURE_WINDOW)")
    event.update(client=client[:64], count=refused, window_s=window)
    return event


def refusal(guard: AuthFloodGuard, request: Request) -> Response | None:
    """Count a failed authentication; the 429 to answer once the address is over the limit."""
    client = request.client.host if request.client else "unknown"
    retry_after = guard.failed(client)
    if retry_after is None:
        return None
    return error(429, f"too many failed authentications from this address: check the API key "
                      f"(Authorization: Bearer tp_...), then retry after {retry_after:.0f} s",
                 type="authentication_error", code="auth_rate_limited",
                 headers={"Retry-After": str(max(1, math.ceil(retry_after)))})
