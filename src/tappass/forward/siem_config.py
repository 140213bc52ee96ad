"""The SIEM destination: `PUT/GET /admin/siem/config`, stored under the meta key
`siem_config`, or `TAPPASS_SIEM_WEBHOOK_URL` when none was stored.

    {"enabled": true,
     "destination": {"type": "splunk_hec" | "webhook" | "syslog", "url": "...",
                     "token": "..."},
     "format": "cef" | "ocsf" | "json",
     "severity_filter": "all" | "detection" | "action" | "block"}

The token is never returned (`token_set` says whether there is one) and is kept as
`tappass.forward.secrets` describes. A PUT without a token keeps the stored one when the
destination (type and url) is unchanged, so a configuration read back with GET can be sent
again as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from tappass.audit.formats.level import LEVELS
from tappass.clip import clip
from tappass.errors import RequestError
from tappass.forward import secrets

if TYPE_CHECKING:
    from tappass.storage.base import Store
    from tappass.vault.service import Vault

META_KEY = "siem_config"
TOKEN_NAME = "_tappass.siem.token"
TYPES = ("splunk_hec", "webhook", "syslog")
FORMATS = ("cef", "ocsf", "json")
SYSLOG_SCHEMES = ("syslog", "syslog+tls", "tcp", "tls")
_TOP = {"enabled", "destination", "format", "severity_filter"}
_DESTINATION = {"type", "url", "token"}


@dataclass(frozen=True, slots=True)
class SiemConfig:
    enabled: bool
    type: str
    url: str
    format: str
    severity_filter: str
    token: str | None = None
    token_ref: Any = None          # how the token is stored (see tappass.forward.secrets)
    source: str = "api"            # "api" or "environment"

    def public(self) -> dict[str, Any]:
        return {"enabled": self.enabled,
                "destination": {"type": self.type, "url": self.url,
                                "token_set": self.token is not None},
                "format": self.format, "severity_filter": self.severity_filter,
                "token_storage": secrets.storage_of(self.token_ref), "source": self.source}


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise RequestError(f"{field}: expected one of {', '.join(choices)}, got "
                           f"{clip(repr(value))}", field=field)
    return str(value)


def check_url(kind: str, url: Any) -> str:
    field = "destination.url"
    if not isinstance(url, str) or not url:
        raise RequestError(f"{field}: expected a URL", field=field)
    parts = urlsplit(url)
    schemes = SYSLOG_SCHEMES if kind == "syslog" else ("http", "https")
    if parts.scheme not in schemes or not parts.hostname:
        raise RequestError(f"{field}: a {kind} destination needs a {'|'.join(schemes)}:// URL "
                           f"with a host, got {clip(url)}", field=field)
    if kind == "syslog" and parts.port is None:
        raise RequestError(f"{field}: a syslog URL needs a port (e.g. syslog://host:6514)",
                           field=field)
    return url


def _unknown(body: dict[str, Any], allowed: set[str], prefix: str) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise RequestError(f"{prefix}{extra[0]}: unknown field; use "
                           f"{', '.join(sorted(allowed))}", field=prefix + extra[0])


def parse(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The checked configuration (without the token) and the token given, if any."""
    _unknown(body, _TOP, "")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RequestError("enabled: expected true or false", field="enabled")
    destination = body.get("destination")
    if not isinstance(destination, dict):
        raise RequestError("destination: expected an object with type, url and token",
                           field="destination")
    _unknown(destination, _DESTINATION, "destination.")
    kind = _choice(destination.get("type"), "destination.type", TYPES)
    token = destination.get("token")
    if token is not None and (not isinstance(token, str) or not token):
        raise RequestError("destination.token: expected a non-empty string",
                           field="destination.token")
    return {"enabled": enabled, "type": kind, "url": check_url(kind, destination.get("url")),
            "format": _choice(body.get("format", "json"), "format", FORMATS),
            "severity_filter": _choice(body.get("severity_filter", "all"), "severity_filter",
                                       LEVELS)}, token


async def save(store: Store, vault: Vault | None, body: dict[str, Any],
               previous: SiemConfig | None) -> SiemConfig:
    fields, token = parse(body)
    same_place = previous is not None and previous.source == "api" and (
        previous.type, previous.url) == (fields["type"], fields["url"])
    if token is not None:
        ref = await secrets.keep(vault, TOKEN_NAME, token)
    elif same_place and previous is not None and previous.token is not None:
        token, ref = previous.token, previous.token_ref
    else:
        if fields["type"] == "splunk_hec":
            raise RequestError("destination.token: Splunk HEC needs its token",
                               field="destination.token")
        ref = None
        if previous is not None:
            await secrets.forget(vault, previous.token_ref)
    await store.set_meta(META_KEY, orjson.dumps({**fields, "token": ref}).decode())
    return SiemConfig(token=token, token_ref=ref, **fields)


async def load(store: Store, vault: Vault | None, env_url: str | None) -> SiemConfig | None:
    text = await store.get_meta(META_KEY)
    if text:
        stored = orjson.loads(text)
        ref = stored.pop("token", None)
        return SiemConfig(token=secrets.resolve(vault, ref), token_ref=ref, **stored)
    if env_url:
        return SiemConfig(enabled=True, type="webhook", url=env_url, format="json",
                          severity_filter="all", source="environment")
    return None
