"""Checks on what an upstream answered: the shape of an answer or a stream chunk, its usage.

Pure functions over parsed JSON. An answer of the wrong shape (a list, a string, `choices`
missing, token counts that are not integers) is the provider's fault: it becomes a 502
`upstream_invalid`, keeping whatever token counts could still be read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from tappass.errors import ProviderError

USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")


def readable_usage(data: object) -> dict[str, int] | None:
    """The integer token counts of `data["usage"]`, or None when none can be read."""
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return None
    counts = {name: usage[name] for name in USAGE_FIELDS if _count(usage.get(name))}
    return counts or None


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _usage_is_valid(data: dict[str, Any]) -> bool:
    usage = data.get("usage")
    if usage is None:
        return True
    if not isinstance(usage, dict):
        return False
    for name in USAGE_FIELDS:  # a loop, not all() over a generator: every answer and chunk
        value = usage.get(name)
        if value is not None and not _count(value):
            return False
    return True


def invalid(provider: str, what: str, data: object = None) -> ProviderError:
    return ProviderError(f"provider {provider!r} answered with {what}", status=502,
                         code="upstream_invalid", provider=provider,
                         usage=readable_usage(data))


def _parse_object(provider: str, raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid(provider, f"{what} that is not JSON") from None
    if not isinstance(data, dict):
        raise invalid(provider, f"{what} that is a JSON {type(data).__name__}")
    if not _usage_is_valid(data):
        raise invalid(provider, f"{what} whose token counts are not integers", data)
    return data


def check_answer(provider: str, raw: bytes) -> dict[str, Any]:
    """The parsed chat-completions answer; ProviderError `upstream_invalid` if malformed."""
    data = _parse_object(provider, raw, "an answer")
    if not isinstance(data.get("choices"), list):
        raise invalid(provider, "an answer without a 'choices' list", data)
    return data


def check_chunk(provider: str, payload: bytes) -> dict[str, Any]:
    """One parsed stream chunk; ProviderError `upstream_invalid` if malformed."""
    return _parse_object(provider, payload, "a stream chunk")


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0 if seconds == seconds else None
    return min(seconds, 86400.0)
