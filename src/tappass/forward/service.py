"""Forwarding in a running gateway: the configuration, the router the store calls, and the
sender that delivers.

`load()` reads the SIEM configuration and the alert webhooks from the store (and the
environment shortcut), builds the router and sets it on the store. Admin changes call
`changed()`, which bumps the stored `forward_version`; every process polls that version
with the outbox, so other workers and hosts pick the change up within a poll interval.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from tappass.forward import siem_config, webhooks
from tappass.forward.anomaly import AnomalyDetector
from tappass.forward.destinations import AlertDestination, Destination, siem_destination
from tappass.forward.outbox import SIEM_SINK
from tappass.forward.router import Router
from tappass.forward.sender import Sender, SenderLoop, SenderPolicy
from tappass.forward.siem_config import SiemConfig
from tappass.forward.webhooks import AlertWebhook

if TYPE_CHECKING:
    from tappass.settings import Settings
    from tappass.storage.base import Store
    from tappass.vault.service import Vault

log = logging.getLogger("tappass.forward")
VERSION_KEY = "forward_version"


class Forwarding:
    def __init__(self, store: Store, vault: Vault | None, settings: Settings, *,
                 anomaly: AnomalyDetector | None = None) -> None:
        self._store, self._vault = store, vault
        self._env_url = settings.siem_webhook_url
        policy = SenderPolicy(settings.forward_batch_max, settings.forward_max_attempts,
                              settings.forward_retry_max_seconds,
                              settings.forward_poll_seconds)
        self.sender = Sender(store.outbox, policy)
        self._loop = SenderLoop(self.cycle, policy.poll_seconds)
        self._anomaly = anomaly or AnomalyDetector()
        self._client: httpx.AsyncClient | None = None
        self._version: str | None = None
        self.siem: SiemConfig | None = None
        self.hooks: list[AlertWebhook] = []
        self._destinations: dict[str, Destination] = {}

    async def load(self) -> None:
        self._version = await self._store.get_meta(VERSION_KEY)
        self.siem = await siem_config.load(self._store, self._vault, self._env_url)
        self.hooks = await webhooks.load(self._store, self._vault)
        router = Router(self.siem, self.hooks, self._anomaly, self._loop.wake)
        self._store.route_outbox = router if router.active else None
        self._destinations = self._build_destinations()

    def _build_destinations(self) -> dict[str, Destination]:
        client = self._http()
        out: dict[str, Destination] = {h.sink: AlertDestination(h, client) for h in self.hooks}
        if self.siem is not None:  # kept when disabled: what is queued still goes out
            out[SIEM_SINK] = siem_destination(self.siem, client)
        return out

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def changed(self) -> None:
        """After an admin change: reload here, and tell the other processes."""
        await self._store.set_meta(VERSION_KEY, datetime.now(UTC).isoformat())
        await self.load()

    async def cycle(self) -> None:
        if await self._store.get_meta(VERSION_KEY) != self._version:
            if self._vault is not None:  # a new token may have been sealed by another worker
                await self._vault.refresh()
            await self.load()
        for sink, destination in self._destinations.items():
            await self.sender.drain(sink, destination)

    def start(self) -> None:
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()
        await self.sender.release_all()
        self._store.route_outbox = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def status(self) -> dict[str, Any]:
        """What /health/detailed and `tappass status` show: per sink, queue and counters."""
        stored = await self._store.outbox.stats()
        sinks = {}
        for sink in sorted({*self._destinations, *stored}):
            queue = stored.get(sink, {"pending": 0, "dead": 0, "oldest_pending": None,
                                      "last_error": None})
            counters = self.sender.counters.get(sink)
            sinks[sink] = {**queue, "this_process": counters.as_dict() if counters else None}
        dead = sum(entry["dead"] for entry in sinks.values())
        return {"status": "dead_letters" if dead else "ok", "running": self._loop.running,
                "siem": self.siem.public() if self.siem else None,
                "webhooks": len(self.hooks), "dead_letters": dead,
                "last_error": self._loop.last_error, "sinks": sinks}
