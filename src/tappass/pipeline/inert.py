"""Configuration that is accepted but has no effect in this version, named so it is not silent.

A step registered without an implementation (`StepSpec.available` is False) still takes its
options, so pipelines written for a later version load today. Enabling or configuring one,
setting a flag that only such steps act on, or asking for human approval is stored as given;
these functions return one warning per such setting, with its path. They read the registry,
so a warning disappears by itself when the implementation lands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tappass.errors import ConfigError
from tappass.pipeline.overrides import Overrides, normalize
from tappass.pipeline.registry import BY_ID, resolve_id

NO_EFFECT = "stored, but it has no effect until it is"
# flag -> the value that asks for nothing, and the steps that act on each other value
# (a value missing here is acted on by the flag's "*" steps)
FLAG_STEPS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "pii": ("off", {"tokenize": ("pii_tokenization", "pii_restore"), "*": ("detect_pii",)}),
    "email": ("allow", {"*": ("tool_constraints",)}),
}


def acting_steps(key: str, value: str) -> tuple[str, ...]:
    """The steps that act on `key=value` (none for an unknown flag or the inactive value)."""
    inactive, steps = FLAG_STEPS.get(key, ("", {}))
    if value == inactive:
        return ()
    return steps.get(value, steps.get("*", ()))


def _unavailable(step_id: str) -> bool:
    spec = BY_ID.get(step_id)
    return spec is not None and not spec.available


def _step_warning(path: str, step_id: str, options: Iterable[str] = ()) -> str:
    listed = sorted(options)
    what = f"{step_id} ({', '.join(listed)})" if listed else step_id
    return f"{path}: {what} is not implemented in this version; {NO_EFFECT}"


def override_warnings(overrides: Overrides) -> list[str]:
    """Steps the overrides enable or configure that are not implemented; approval policy."""
    touched: dict[tuple[str, str], set[str]] = {}
    for override in overrides.steps:
        if override.enabled is False or not _unavailable(override.step):
            continue
        if override.enabled or override.options:
            touched.setdefault((override.path, override.step), set()).update(override.options)
    out = [_step_warning(path, step, options) for (path, step), options in touched.items()]
    if overrides.policy.get("require_human_approval"):
        out.append("overrides.policy.require_human_approval: human approval is not "
                   "implemented in this version; classify_data records a require_approval "
                   "decision for the listed levels, and with mode=enforce the request is "
                   "refused (403) until approvals are")
    return out


def raw_override_warnings(raw: Any) -> list[str]:
    """`override_warnings` of an `overrides` mapping as stored (nothing if it is invalid)."""
    try:
        return override_warnings(normalize(raw))
    except ConfigError:
        return []


def enable_warnings(enable: Iterable[Any], path: str = "enable") -> list[str]:
    """Steps a custom pipeline's `enable` list turns on that are not implemented."""
    out = []
    for name in enable:
        try:
            step_id = resolve_id(str(name))
        except ConfigError:
            continue
        if _unavailable(step_id):
            out.append(_step_warning(path, step_id))
    return out


def flag_warnings(flags: Mapping[str, str], path: str = "flags") -> list[str]:
    """Flags set to act while every step that acts on them is not implemented."""
    out = []
    for key, value in flags.items():
        steps = acting_steps(key, value)
        if steps and all(_unavailable(s) for s in steps):
            out.append(f"{path}.{key}={value}: the steps acting on it ({', '.join(steps)}) "
                       "are not implemented in this version; stored, but it has no effect "
                       "until they are")
    return out
