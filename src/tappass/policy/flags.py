"""Governance flags: `key=value` pairs that tune a pipeline per agent or per request.

Grammar: pairs separated by commas, spaces allowed (`mode=observe, pii=mask`). Carried by
the `X-TapPass-Flags` header and stored on agents as a mapping. Precedence: pipeline
defaults < agent flags < request flags. Unknown keys or values raise FlagError naming them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tappass.clip import clip
from tappass.errors import RequestError

_EMAIL_INTERNAL = re.compile(r"internal:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                             r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_BUDGET_CUSTOM = re.compile(r"custom:(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)")

CHOICES: dict[str, tuple[str, ...]] = {
    "mode": ("observe", "enforce", "off"),
    "pii": ("mask", "redact", "tokenize", "block", "off"),
    "email": ("block", "allow", "internal:<domain>"),
    "budget": ("dev", "standard", "unlimited", "custom:<per_call>:<per_session>"),
}
_PATTERNS = {"email": _EMAIL_INTERNAL, "budget": _BUDGET_CUSTOM}


class FlagError(RequestError):
    def __init__(self, message: str, *, field: str = "flags") -> None:
        super().__init__(message, field=field, code="invalid_flag")


def validate_flag(key: str, value: str) -> str:
    """Return the normalised value of one flag or raise FlagError naming it."""
    key = key.strip().lower()
    value = value.strip()
    if key not in CHOICES:
        raise FlagError(f"unknown flag {clip(key)}; valid flags: {', '.join(CHOICES)}")
    if value in CHOICES[key]:
        return value
    pattern = _PATTERNS.get(key)
    if pattern and pattern.fullmatch(value):
        return value
    raise FlagError(f"invalid value {clip(value)} for flag {key!r}; expected one of "
                    f"{' | '.join(CHOICES[key])}")


def validate_flags(flags: Mapping[str, object]) -> dict[str, str]:
    """Validate a mapping of flags (API bodies, SDK `flags=`)."""
    out: dict[str, str] = {}
    for key, value in flags.items():
        if not isinstance(value, str):
            raise FlagError(f"flag {clip(key)} must be a string, got {type(value).__name__}")
        out[str(key).strip().lower()] = validate_flag(str(key), value)
    return out


def parse_flags(text: str) -> dict[str, str]:
    """Parse `key=value, key=value` (the header and TAPPASS_FLAGS form)."""
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise FlagError(f"malformed flag {clip(part.strip())}; expected key=value")
        out[key.strip().lower()] = validate_flag(key, value)
    return out


def format_flags(flags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(flags.items()))


# flags whose values have an order: a locked flag may still be made stricter
_STRICTNESS: dict[str, tuple[str, ...]] = {"mode": ("off", "observe", "enforce")}


class FlagLocked(RequestError):
    def __init__(self, key: str, value: str | None) -> None:
        locked_to = f"locked to {value!r}" if value else "locked"
        super().__init__(f"flag {key!r} is {locked_to} for this agent by an administrator",
                         field="X-TapPass-Flags", status=403, code="flag_locked")
        self.key = key


def validate_locked(names: object) -> list[str]:
    """The list of flag names an admin locks for an agent."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise FlagError("locked_flags: expected a list of flag names", field="locked_flags")
    for name in names:
        if name not in CHOICES:
            raise FlagError(f"locked_flags: unknown flag {clip(name)}; valid flags: "
                            f"{', '.join(CHOICES)}", field="locked_flags")
    return sorted(set(names))


def merge_flags(base: Mapping[str, str], requested: Mapping[str, str],
                locked: list[str]) -> dict[str, str]:
    """`base` (pipeline defaults + agent flags) updated by request flags, honouring locks."""
    for key in locked:
        if key not in requested or requested[key] == base.get(key):
            continue
        order = _STRICTNESS.get(key)
        current = base.get(key)
        if order and current in order and order.index(requested[key]) > order.index(current):
            continue  # stricter than the locked value: allowed
        raise FlagLocked(key, current)
    return {**base, **requested}
