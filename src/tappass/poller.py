"""`Poller`: run a refresh every few seconds in the background until closed.

Used where workers on other machines notice a change through the shared database (custom
pipelines, the key vault). A failed refresh is logged and the previous state kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("tappass")


class Poller:
    def __init__(self, refresh: Callable[[], Awaitable[None]], interval: float,
                 what: str) -> None:
        self._refresh = refresh
        self._interval = interval
        self._what = what
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._what)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._refresh()
            except Exception as exc:  # storage hiccup: keep serving what we have
                log.warning("could not refresh %s: %s", self._what, exc)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
