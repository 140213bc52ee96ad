"""Governance flags: `key=value` pairs that tune a pipeline per agent or per request.

Grammar: pairs separated by commas, spaces allowed (`mode=observe, pii=mask`). Carried by
the `X-TapPass-Flags` header and stored on agents as a mapping. Precedence: pipeline
defaults < agent flags < request flags. Unknown keys or values raise FlagError naming them.
A request may make governance stricter; it may loosen the agent's configuration only where
the agent's admin allows it (`merge_flags`, `FlagPolicy`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from tappass.clip import clip
from tappass.errors import RequestError

_DOMAIN = (r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
           r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_EMAIL_INTERNAL = re.compile(rf"internal:{_DOMAIN}|mirror:[A-Za-z0-9._%+-]+@{_DOMAIN}")
_BUDGET_CUSTOM = re.compile(r"custom:(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)")

CHOICES: dict[str, tuple[str, ...]] = {
    "mode": ("observe", "enforce", "off"),
    "pii": ("mask", "redact", "tokenize", "block", "off"),
    "email": ("block", "allow", "internal:<domain>", "mirror:<address>"),
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


# -- strictness: what a request may change ------------------------------------------------
#
# A request may always make governance stricter. Loosening the agent's configuration
# (pipeline defaults < agent flags) needs the admin's allowance, except the loosenings in
# FREE_LOOSENING, which keep every protection on (observe still runs and records every step;
# mask, redact and tokenize still keep personal data from the model). A locked flag may
# only be made stricter.

class Change(Enum):
    STRICTER = "stricter"
    SAME = "same"
    LOOSER = "looser"


_RANKS: dict[str, dict[str, int]] = {
    "mode": {"off": 0, "observe": 1, "enforce": 2},
    "pii": {"off": 0, "mask": 1, "redact": 1, "tokenize": 1, "block": 2},
    "email": {"allow": 0, "block": 2},  # internal:<domain> and mirror:<address> rank 1
}
# an unset flag leaves the pipeline's own behaviour: enforcing, protecting personal data,
# checking where mail goes (`budget` unset means the pipeline's default tier: see callers)
_UNSET_RANK = {"mode": 2, "pii": 1, "email": 1}
FREE_LOOSENING: dict[str, frozenset[str]] = {
    "mode": frozenset({"observe"}), "pii": frozenset({"mask", "redact", "tokenize"})}


def _rank(key: str, value: str | None) -> int:
    # internal:<domain> and mirror:<address> are in no table: like an unset email, rank 1
    if value is None:
        return _UNSET_RANK[key]
    return _RANKS[key].get(value, _UNSET_RANK[key])


def _email_domain(value: str | None) -> str | None:
    """Where `internal:` or `mirror:` lets mail go ("internal:x.com", "mirror:a@x.com")."""
    if value is None or not value.startswith(("internal:", "mirror:")):
        return None
    return value.lower()


def _above(requested: float | None, current: float | None) -> bool:
    """Whether cap `requested` allows more than cap `current` (None: no cap)."""
    return current is not None and (requested is None or requested > current)


def _compare_budget(requested: str, current: str | None) -> Change:
    from tappass.policy.budget import budget_for  # budget.py imports this module
    if current is None:
        return Change.SAME  # the pipeline has no budget step: the flag changes nothing
    new, old = budget_for(requested), budget_for(current)
    if _above(new.per_call, old.per_call) or _above(new.per_session, old.per_session):
        return Change.LOOSER
    return Change.SAME if new == old else Change.STRICTER


@lru_cache(maxsize=1024)  # pure, over validated values: per-request cost is one lookup
def compare(key: str, requested: str, current: str | None) -> Change:
    """How flag value `requested` changes governance against `current` (None: unset).

    mode: off < observe < enforce; pii: off < mask = redact = tokenize < block; email:
    allow < internal:<domain> = mirror:<address> < block, and another domain or address is
    looser; budget: looser when
    either cap (per call, per session) is higher.
    """
    if key == "budget":
        return _compare_budget(requested, current)
    if requested == current:
        return Change.SAME
    old_domain, new_domain = _email_domain(current), _email_domain(requested)
    if old_domain and new_domain and old_domain != new_domain:
        return Change.LOOSER
    new, old = _rank(key, requested), _rank(key, current)
    return Change.STRICTER if new > old else Change.SAME if new == old else Change.LOOSER


def needs_allowance(key: str, requested: str) -> bool:
    """Whether loosening `key` to `requested` needs the admin's allowance."""
    return requested not in FREE_LOOSENING.get(key, ())


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[:limit] + "..."


def _setting(key: str, current: str | None) -> str:
    if current is None:
        return f"{key} is not set for it, so the pipeline's own protection applies"
    return f"{key} is {_short(current)} for it"


class FlagLocked(RequestError):
    """A request flag the agent's admin does not allow (403 `flag_locked`): a locked flag."""

    def __init__(self, key: str, value: str | None, agent: str, *,
                 message: str | None = None) -> None:
        locked_to = f"locked to {_short(value)!r}" if value else "locked"
        super().__init__(message or (
            f"flag {key!r} is {locked_to} for this agent by an administrator; a request may "
            f"only make it stricter. An administrator can unlock it by removing {key!r} from "
            f"the agent's locked_flags (PATCH /v1/agents/{agent}), e.g. `tappass agents "
            f"unlock-flag {agent} {key}`"), field="X-TapPass-Flags", status=403,
            code="flag_locked")
        self.key = key


class FlagLoosening(FlagLocked):
    """A request flag that would loosen the agent's configuration without the allowance."""

    def __init__(self, key: str, requested: str, current: str | None, agent: str) -> None:
        super().__init__(key, current, agent, message=(
            f"flag {key}={_short(requested)} would loosen this agent's governance "
            f"({_setting(key, current)}); a request may only make governance stricter. An "
            f"administrator can allow it by adding {key!r} to the agent's loosenable_flags "
            f"(PATCH /v1/agents/{agent}), e.g. `tappass agents allow-loosening {agent} {key}`"))


def validate_flag_names(names: object, field: str) -> list[str]:
    """A list of flag names (`locked_flags`, `loosenable_flags`), sorted and deduplicated."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise FlagError(f"{field}: expected a list of flag names, e.g. [\"mode\"]",
                        field=field)
    for name in names:
        if name not in CHOICES:
            raise FlagError(f"{field}: unknown flag {clip(name)}; valid flags: "
                            f"{', '.join(CHOICES)}", field=field)
    return sorted(set(names))


def validate_locked(names: object) -> list[str]:
    """The list of flag names an admin locks for an agent."""
    return validate_flag_names(names, "locked_flags")


def validate_loosenable(names: object) -> list[str]:
    """The list of flags whose loosening an admin allows for an agent."""
    return validate_flag_names(names, "loosenable_flags")


@dataclass(frozen=True, slots=True)
class FlagPolicy:
    """What an agent's admin lets its requests change."""

    locked: Sequence[str] = ()
    loosenable: Sequence[str] = ()
    agent: str = "NAME"              # named in refusals, so the fix can be copied


def check_flag(key: str, requested: str, current: str | None, policy: FlagPolicy) -> None:
    """Raise FlagLocked / FlagLoosening when a request may not set `key` to `requested`."""
    change = compare(key, requested, current)
    if key in policy.locked:
        if requested != current and change is not Change.STRICTER:
            raise FlagLocked(key, current, policy.agent)
    elif (change is Change.LOOSER and key not in policy.loosenable
          and needs_allowance(key, requested)):
        raise FlagLoosening(key, requested, current, policy.agent)


def _current(key: str, base: Mapping[str, str], default_budget: str | None) -> str | None:
    value = base.get(key)
    return default_budget if value is None and key == "budget" else value


def merge_flags(base: Mapping[str, str], requested: Mapping[str, str],
                policy: FlagPolicy, *, default_budget: str | None = None) -> dict[str, str]:
    """`base` (pipeline defaults + agent flags) updated by request flags, as `policy` allows.

    `default_budget` is the tier the pipeline applies when `budget` is unset.
    """
    for key, value in requested.items():
        check_flag(key, value, _current(key, base, default_budget), policy)
    return {**base, **requested}


def loosened_flags(base: Mapping[str, str], flags: Mapping[str, str], *,
                   default_budget: str | None = None) -> list[str]:
    """The names of the flags in `flags` that are looser than the agent's `base`, sorted."""
    return sorted(key for key, value in flags.items() if key in CHOICES
                  and compare(key, value, _current(key, base, default_budget)) is Change.LOOSER)
