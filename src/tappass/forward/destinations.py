"""Where forwarded events go, and how each destination is spoken to.

- `splunk_hec`: POST to `<url>/services/collector/event` (a url that already ends in
  `/services/collector` or `/services/collector/event` is used as given, with `/event`
  added to the former), `Authorization: Splunk <token>`, the batch as HEC event envelopes
  written back to back (no array, no commas): `{"time", "host", "source", "sourcetype",
  "event"}{...}`. `event` is the rendered event: an object for json/ocsf, the CEF line for
  cef. Success is a 2xx.
- `webhook`: POST a JSON array of rendered events (`Authorization: Bearer <token>` when a
  token is set).
- `syslog`: RFC 5424 over TCP (`syslog://`, `tcp://`) or TLS (`syslog+tls://`, `tls://`),
  octet-counted; success is every byte written.
- alert webhooks: one POST per alert, signed (see `tappass.forward.signing`).

Every envelope carries the audit event id (HEC `fields.event_id`, the event's own `id` or
`metadata.uid`, CEF `externalId`, the syslog structured data), so a receiver can drop the
duplicates that at-least-once delivery can produce. A failure raises DeliveryError; it is
`permanent` when retrying cannot help (the receiver refused the batch as malformed).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import orjson

from tappass.audit.formats import cef, ocsf
from tappass.forward import signing, syslog
from tappass.forward.outbox import OutboxItem
from tappass.forward.siem_config import SiemConfig
from tappass.forward.webhooks import AlertWebhook

TIMEOUT = 10.0
_PERMANENT = frozenset({400, 404, 405, 410, 413, 415, 422})
_HEC_PATH = "/services/collector/event"
_TLS_SCHEMES = ("syslog+tls", "tls")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False, sent: int = 0) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.sent = sent       # how many items at the front of the batch did arrive


class Destination(Protocol):
    async def send(self, items: Sequence[OutboxItem]) -> None: ...


def rendered(event: Mapping[str, Any], fmt: str) -> Any:
    """The event in the configured format: an object for json/ocsf, a line for cef."""
    if fmt == "ocsf":
        return ocsf.to_ocsf(event)
    if fmt == "cef":
        return cef.render(event)
    return event


def _events(items: Sequence[OutboxItem]) -> list[dict[str, Any]]:
    return [orjson.loads(item.body or "{}") for item in items]


def _check(response: httpx.Response, where: str) -> None:
    if response.is_success:
        return
    raise DeliveryError(f"{where} answered HTTP {response.status_code}",
                        permanent=response.status_code in _PERMANENT)


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str],
                where: str) -> None:
    try:
        response = await client.post(url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{where} unreachable: {type(exc).__name__}") from None
    _check(response, where)


def hec_url(url: str) -> str:
    base = url.rstrip("/")
    if base.endswith(_HEC_PATH):
        return base
    if base.endswith("/services/collector"):
        return base + "/event"
    return base + _HEC_PATH


class SplunkHec:
    def __init__(self, config: SiemConfig, client: httpx.AsyncClient) -> None:
        self._url, self._token, self._format = hec_url(config.url), config.token, config.format
        self._client = client
        self._host = socket.gethostname()
        self._sourcetype = {"cef": "cef", "ocsf": "ocsf", "json": "_json"}[config.format]

    def envelope(self, event: Mapping[str, Any]) -> bytes:
        time_ms = cef.epoch_ms(event.get("timestamp"))
        return orjson.dumps({"time": time_ms / 1000 if time_ms is not None else None,
                             "host": self._host, "source": "tappass",
                             "sourcetype": self._sourcetype,
                             "event": rendered(event, self._format),
                             "fields": {"event_id": event.get("id")}})

    async def send(self, items: Sequence[OutboxItem]) -> None:
        body = b"".join(self.envelope(event) for event in _events(items))
        await _post(self._client, self._url, body,
                    {"Authorization": f"Splunk {self._token}",
                     "Content-Type": "application/json"}, "Splunk HEC")


class JsonWebhook:
    def __init__(self, config: SiemConfig, client: httpx.AsyncClient) -> None:
        self._url, self._format, self._client = config.url, config.format, client
        self._headers = {"Content-Type": "application/json"}
        if config.token:
            self._headers["Authorization"] = f"Bearer {config.token}"

    async def send(self, items: Sequence[OutboxItem]) -> None:
        if self._format == "json":  # the stored JSON as it is: no parse, no re-encode
            body = b"[" + b",".join((item.body or "{}").encode() for item in items) + b"]"
        else:
            body = orjson.dumps([rendered(event, self._format) for event in _events(items)])
        await _post(self._client, self._url, body, self._headers, "SIEM webhook")


class Syslog:
    def __init__(self, config: SiemConfig) -> None:
        parts = urlsplit(config.url)
        self._host, self._port = parts.hostname or "", parts.port or 0
        self._tls = ssl.create_default_context() if parts.scheme in _TLS_SCHEMES else None
        self._format = config.format

    def line(self, event: Mapping[str, Any]) -> str:
        out = rendered(event, self._format)
        return out if isinstance(out, str) else orjson.dumps(out).decode()

    async def send(self, items: Sequence[OutboxItem]) -> None:
        data = b"".join(syslog.frame(syslog.message(event, self.line(event)))
                        for event in _events(items))
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(
                self._host, self._port, ssl=self._tls), TIMEOUT)
            writer.write(data)
            await asyncio.wait_for(writer.drain(), TIMEOUT)
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise DeliveryError(f"syslog {self._host}:{self._port} failed: "
                                f"{type(exc).__name__}") from None


class AlertDestination:
    def __init__(self, hook: AlertWebhook, client: httpx.AsyncClient) -> None:
        self._hook, self._client = hook, client

    async def send(self, items: Sequence[OutboxItem]) -> None:
        for sent, item in enumerate(items):
            body = (item.body or "{}").encode()
            alert = orjson.loads(body)
            headers = {"Content-Type": "application/json", "X-TapPass-Event": alert["type"],
                       "X-TapPass-Delivery": str(alert["id"]),
                       **signing.sign(self._hook.secret or "", body)}
            try:
                await _post(self._client, self._hook.url, body, headers, "alert webhook")
            except DeliveryError as exc:
                exc.sent = sent
                raise


def siem_destination(config: SiemConfig, client: httpx.AsyncClient) -> Destination:
    if config.type == "splunk_hec":
        return SplunkHec(config, client)
    if config.type == "syslog":
        return Syslog(config)
    return JsonWebhook(config, client)
