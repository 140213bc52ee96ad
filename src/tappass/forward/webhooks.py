"""Alert webhooks: `POST /admin/webhooks` {"url", "events"}, listed and deleted by id.

Stored as a list under the meta key `alert_webhooks`; each has an id (`wh_...`), its url,
the alert types it wants, and a signing secret (see `tappass.forward.signing`, kept as
`tappass.forward.secrets` describes) returned once, by the POST that creates it.

Alert types:
- `violation`: a request blocked by an enforced pipeline step.
- `anomaly`: an agent's request rate or block rate far above its own recent baseline
  (see `tappass.forward.anomaly`).
- `escalation`: the request whose risk took its session over the `session_escalation`
  threshold (once per session; see `tappass.forward.router`).
"""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from tappass.clip import clip
from tappass.errors import RequestError
from tappass.forward import secrets
from tappass.forward.outbox import WEBHOOK_PREFIX
from tappass.forward.signing import new_secret

if TYPE_CHECKING:
    from tappass.storage.base import Store
    from tappass.vault.service import Vault

META_KEY = "alert_webhooks"
EVENTS = ("violation", "escalation", "anomaly")
MAX_WEBHOOKS = 20


@dataclass(frozen=True, slots=True)
class AlertWebhook:
    id: str
    url: str
    events: tuple[str, ...]
    created_at: str
    secret: str | None
    secret_ref: Any

    @property
    def sink(self) -> str:
        return WEBHOOK_PREFIX + self.id

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": list(self.events),
                "created_at": self.created_at,
                "secret_storage": secrets.storage_of(self.secret_ref)}

    def stored(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": list(self.events),
                "created_at": self.created_at, "secret": self.secret_ref}


def parse(body: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    extra = sorted(set(body) - {"url", "events"})
    if extra:
        raise RequestError(f"{extra[0]}: unknown field; use url, events", field=extra[0])
    url = body.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise RequestError(f"url: expected an http(s):// URL, got {clip(repr(url))}",
                           field="url")
    events = body.get("events", list(EVENTS))
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        raise RequestError(f"events: expected a non-empty list of {', '.join(EVENTS)}",
                           field="events")
    return str(url), tuple(dict.fromkeys(events))


async def load(store: Store, vault: Vault | None) -> list[AlertWebhook]:
    text = await store.get_meta(META_KEY)
    return [AlertWebhook(h["id"], h["url"], tuple(h["events"]), h["created_at"],
                         secrets.resolve(vault, h["secret"]), h["secret"])
            for h in (orjson.loads(text) if text else [])]


async def _save(store: Store, hooks: list[AlertWebhook]) -> None:
    await store.set_meta(META_KEY, orjson.dumps([h.stored() for h in hooks]).decode())


async def create(store: Store, vault: Vault | None, body: dict[str, Any]) -> AlertWebhook:
    url, events = parse(body)
    hooks = await load(store, vault)
    if len(hooks) >= MAX_WEBHOOKS:
        raise RequestError(f"at most {MAX_WEBHOOKS} alert webhooks; delete one first",
                           status=409, code="too_many")
    hook_id = "wh_" + random_secrets.token_hex(8)
    secret = new_secret()
    ref = await secrets.keep(vault, f"_tappass.webhook.{hook_id}.secret", secret)
    hook = AlertWebhook(hook_id, url, events,
                        datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                        secret, ref)
    await _save(store, [*hooks, hook])
    return hook


async def delete(store: Store, vault: Vault | None, hook_id: str) -> AlertWebhook | None:
    hooks = await load(store, vault)
    found = next((h for h in hooks if h.id == hook_id), None)
    if found is not None:
        await _save(store, [h for h in hooks if h.id != hook_id])
        await secrets.forget(vault, found.secret_ref)
        await store.outbox.drop_sink(found.sink)
    return found
