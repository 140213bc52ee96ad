"""Turn constructor arguments and environment variables into one checked configuration.

Everything here runs before any request, so every mistake is a `ConfigurationError`.
Flags: `TAPPASS_FLAGS` < `flags=` on the agent < `flags=` on the call (later wins).
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from tappass.policy.flags import FlagError, format_flags, parse_flags, validate_flags
from tappass.sdk._errors import ConfigurationError

DEFAULT_URL = "http://127.0.0.1:9620"
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
RETRY_STATUSES = frozenset({502, 504})    # the upstream failed or timed out: may pass next time
MARKED_STATUSES = frozenset({503})        # retried only when the gateway marks it retryable

FlagsArg = Mapping[str, str] | str | None


def normalize_url(url: str | None) -> str:
    """The API base URL ending in `/v1`, from `https://host`, `https://host/` or `.../v1`."""
    url = (url or os.environ.get("TAPPASS_URL") or DEFAULT_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"invalid gateway URL {url!r}: expected http(s)://host[:port][/v1], "
            f"for example {DEFAULT_URL}")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"invalid gateway URL {url!r}: no query or fragment allowed")
    return url if url.endswith("/v1") else f"{url}/v1"


def resolve_api_key(api_key: str | None) -> str:
    key = (api_key or os.environ.get("TAPPASS_API_KEY") or "").strip()
    if not key:
        raise ConfigurationError(
            "no API key: pass api_key='tp_...' (the agent's key from `tappass agents add` "
            "or POST /v1/agents) or set TAPPASS_API_KEY")
    _check_header_value("api_key", key)
    return key


def to_flags(value: FlagsArg, where: str) -> dict[str, str]:
    """Validate flags given as a mapping or as `key=value, key=value` text."""
    if value is None:
        return {}
    try:
        if isinstance(value, str):
            return parse_flags(value)
        if not isinstance(value, Mapping):
            raise FlagError(f"expected a mapping or 'key=value, ...' text, "
                            f"got {type(value).__name__}")
        return validate_flags(value)
    except FlagError as exc:
        raise ConfigurationError(f"invalid flags in {where}: {exc}") from exc


def env_flags() -> dict[str, str]:
    return to_flags(os.environ.get("TAPPASS_FLAGS") or None, "TAPPASS_FLAGS")


def merge_flags(*layers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for layer in layers:
        out.update(layer)
    return out


def flags_header(flags: Mapping[str, str]) -> dict[str, str]:
    return {"X-TapPass-Flags": format_flags(flags)} if flags else {}


def check_optional(name: str, value: str | None) -> str | None:
    if value is not None:
        _check_header_value(name, value)
    return value


def _check_header_value(name: str, value: str) -> None:
    if not value.isascii() or not value.isprintable() or not value.strip():
        raise ConfigurationError(f"{name} must be non-empty printable ASCII, got {value!r}")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: base, 2×base, 4×base ... capped at `max_delay`.

    Retried, before the first byte of an answer: connection errors, timeouts, 502 and 504,
    and a 503 whose error body says `"retryable": true` (the audit store briefly
    unavailable). Never retried: a configuration error (`provider_not_configured`,
    `pipeline_invalid`: the same request fails the same way), any 4xx, which includes every
    governance decision, and an answer the gateway marks `"retryable": false`.
    """

    max_retries: int = 2
    backoff: float = 0.5
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0:
            raise ConfigurationError("max_retries and backoff must be >= 0")

    @staticmethod
    def needs_body(status: int) -> bool:
        """Whether deciding on a retry needs the error body (read it first)."""
        return status in RETRY_STATUSES or status in MARKED_STATUSES

    @staticmethod
    def retries(response: httpx.Response) -> bool:
        """Whether this (read) answer may succeed if sent again."""
        status = response.status_code
        if not RetryPolicy.needs_body(status):
            return False
        marked = _retryable_mark(response)
        return marked if marked is not None else status in RETRY_STATUSES

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number `attempt + 1`."""
        retry_after = _retry_after(response)
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        base = min(self.backoff * 2.0 ** attempt, self.max_delay)
        return base * random.uniform(0.75, 1.25)


def _retryable_mark(response: httpx.Response) -> bool | None:
    """`error.retryable` of the answer's JSON body, if it says."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    mark = error.get("retryable") if isinstance(error, dict) else None
    return mark if isinstance(mark, bool) else None


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None
