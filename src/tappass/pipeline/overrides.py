"""Pipeline overrides: every form the seeds use, normalised to one shape and applied.

Accepted under `overrides`:
- per phase and category (seed 003):
  `categories.<phase>.<category>.steps.<step>.{enabled, options}` (also `<category>.enabled`)
- friendly categories (seed 000): `categories.pii_protection.{enabled, sensitivity, ...}`,
  `categories.cost_control.{budget_usd}`, ... (see FRIENDLY)
- short forms (seed 002): `classification.custom_patterns` (options of classify_data),
  `policy.require_human_approval`, and `steps.<step>.{enabled, options}`.
Every error names the path of the bad value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from tappass.errors import ConfigError
from tappass.pipeline.definition import PipelineDefinition, StepConfig, load_preset
from tappass.pipeline.options import LEVELS, validate_options
from tappass.pipeline.registry import get_spec, resolve_id
from tappass.pipeline.step import Category, Phase

# friendly category -> (steps `enabled: true` turns on, steps `enabled: false` turns off,
#                       the step whose options the other keys are)
FRIENDLY: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "pii_protection": (("detect_pii",), ("detect_pii", "pii_tokenization", "pii_restore"),
                       "detect_pii"),
    "secret_protection": (("detect_secrets",), ("detect_secrets",), "detect_secrets"),
    "injection_protection": (("detect_prompt_injection",), ("detect_prompt_injection",),
                             "detect_prompt_injection"),
    "exfiltration_protection": (("check_exfiltration",), ("check_exfiltration",),
                                "check_exfiltration"),
    "cost_control": (("budget_enforcement",), ("budget_enforcement", "session_budget"),
                     "budget_enforcement"),
    "rate_limiting": (("rate_limit",), ("rate_limit",), "rate_limit"),
    "classification": (("classify_data",), ("classify_data",), "classify_data"),
}
_TOP_KEYS = ("categories", "steps", "classification", "policy")
_STEP_KEYS = ("enabled", "options")


@dataclass(frozen=True, slots=True)
class StepOverride:
    step: str
    phase: Phase | None          # None: every phase the step runs in
    enabled: bool | None
    options: dict[str, Any]
    path: str                    # where it was written, for error messages


@dataclass(frozen=True, slots=True)
class Overrides:
    steps: tuple[StepOverride, ...] = ()
    policy: dict[str, Any] = field(default_factory=dict)


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping")
    return value


def _unknown(keys: Any, allowed: tuple[str, ...], path: str) -> None:
    for key in keys:
        if key not in allowed:
            raise ConfigError(f"{path}.{key}: unknown key; expected one of {', '.join(allowed)}")


def _enabled(value: Any, path: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false")
    return value


def _step_id(name: Any, path: str) -> str:
    try:
        return resolve_id(str(name))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


@cache
def allowed_phases(step_id: str) -> tuple[Phase, ...]:
    """Phases a step can run in: where the full (regulated) pipeline runs it."""
    full = load_preset("regulated")
    return tuple(p for p in Phase if any(c.id == step_id for c in full.phases[p]))


def _step_entry(step_id: str, phase: Phase | None, raw: Any, path: str) -> StepOverride:
    body = _mapping(raw, path)
    _unknown(body, _STEP_KEYS, path)
    options = _mapping(body.get("options", {}), f"{path}.options")
    validate_options(step_id, options, f"{path}.options")
    return StepOverride(step_id, phase, _enabled(body.get("enabled"), f"{path}.enabled"),
                        options, path)


def _phase_category(phase: Phase, category_name: str, raw: Any,
                    path: str) -> list[StepOverride]:
    try:
        category = Category(category_name)
    except ValueError:
        raise ConfigError(f"{path}: unknown category; categories: "
                          f"{', '.join(c.value for c in Category)}") from None
    body = _mapping(raw, path)
    _unknown(body, ("enabled", "steps"), path)
    out = []
    for name, step_raw in _mapping(body.get("steps", {}), f"{path}.steps").items():
        step_path = f"{path}.steps.{name}"
        step_id = _step_id(name, step_path)
        spec = get_spec(step_id)
        if spec.category is not category:
            raise ConfigError(f"{step_path}: {step_id} is in category {spec.category.value}, "
                              f"not {category.value}")
        if phase not in allowed_phases(step_id):
            runs_in = ", ".join(p.value for p in allowed_phases(step_id))
            raise ConfigError(f"{step_path}: {step_id} does not run in the {phase.value} "
                              f"phase; it runs in: {runs_in}")
        out.append(_step_entry(step_id, phase, step_raw, step_path))
    category_enabled = _enabled(body.get("enabled"), f"{path}.enabled")
    if category_enabled is False:
        full = load_preset("regulated").phases[phase]
        out += [StepOverride(c.id, phase, False, {}, path) for c in full
                if get_spec(c.id).category is category]
    return out


def _friendly(name: str, raw: Any, path: str) -> list[StepOverride]:
    turn_on, turn_off, target = FRIENDLY[name]
    body = dict(_mapping(raw, path))
    enabled = _enabled(body.pop("enabled", None), f"{path}.enabled")
    validate_options(target, body, path)
    out = [StepOverride(target, None, None, body, path)] if body else []
    if enabled is not None:
        out += [StepOverride(s, None, enabled, {}, path) for s in (turn_on if enabled
                                                                   else turn_off)]
    return out


def _categories(raw: Any, path: str) -> list[StepOverride]:
    out: list[StepOverride] = []
    for key, value in _mapping(raw, path).items():
        if key in Phase.__members__.values() or key in {p.value for p in Phase}:
            phase = Phase(key)
            for category, body in _mapping(value, f"{path}.{key}").items():
                out += _phase_category(phase, category, body, f"{path}.{key}.{category}")
        elif key in FRIENDLY:
            out += _friendly(key, value, f"{path}.{key}")
        else:
            raise ConfigError(f"{path}.{key}: expected a phase (before, call, after) or one "
                              f"of {', '.join(FRIENDLY)}")
    return out


def _policy(raw: Any, path: str) -> dict[str, Any]:
    body = _mapping(raw, path)
    _unknown(body, ("require_human_approval",), path)
    rules = body.get("require_human_approval", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{path}.require_human_approval: expected a list of "
                          "{classification: LEVEL}")
    for i, rule in enumerate(rules):
        where = f"{path}.require_human_approval[{i}]"
        _unknown(_mapping(rule, where), ("classification",), where)
        if rule.get("classification") not in LEVELS:
            raise ConfigError(f"{where}.classification: expected one of {' | '.join(LEVELS)}")
    return {"require_human_approval": rules} if rules else {}


def normalize(raw: Any, path: str = "overrides") -> Overrides:
    """Parse an `overrides` mapping in any accepted form; ConfigError names the bad path."""
    if raw is None:
        return Overrides()
    body = _mapping(raw, path)
    _unknown(body, _TOP_KEYS, path)
    steps: list[StepOverride] = []
    if "categories" in body:
        steps += _categories(body["categories"], f"{path}.categories")
    for name, step_raw in _mapping(body.get("steps", {}), f"{path}.steps").items():
        steps.append(_step_entry(_step_id(name, f"{path}.steps.{name}"), None, step_raw,
                                 f"{path}.steps.{name}"))
    if "classification" in body:
        steps += _friendly("classification", body["classification"], f"{path}.classification")
    policy = _policy(body["policy"], f"{path}.policy") if "policy" in body else {}
    return Overrides(tuple(steps), policy)


def toggles(enable: list[str], disable: list[str], path: str) -> Overrides:
    """`--enable X --disable Y` as overrides."""
    steps = [StepOverride(_step_id(s, f"{path}.enable"), None, True, {}, f"{path}.enable")
             for s in enable]
    steps += [StepOverride(_step_id(s, f"{path}.disable"), None, False, {}, f"{path}.disable")
              for s in disable]
    return Overrides(tuple(steps))


def _canonical_position(configs: list[StepConfig], phase: Phase, step_id: str) -> int:
    order = [c.id for c in load_preset("regulated").phases[phase]]
    rank = order.index(step_id)
    for i, config in enumerate(configs):
        if config.id in order and order.index(config.id) > rank:
            return i
    return len(configs)


def _phases_for(override: StepOverride,
                phases: dict[Phase, list[StepConfig]]) -> list[Phase]:
    if override.phase is not None:
        return [override.phase]
    present = [p for p in Phase if any(c.id == override.step for c in phases[p])]
    if present or override.enabled is not True:
        return present
    return list(allowed_phases(override.step))


def _apply_one(configs: list[StepConfig], phase: Phase, override: StepOverride) -> None:
    index = next((i for i, c in enumerate(configs) if c.id == override.step), None)
    if override.enabled is False:
        if index is not None:
            del configs[index]
        return
    if index is None:
        if override.enabled is not True:
            return  # options for a step this pipeline does not run: nothing to configure
        index = _canonical_position(configs, phase, override.step)
        configs.insert(index, StepConfig(override.step))
    if override.options:
        current = configs[index]
        configs[index] = StepConfig(current.id, True, {**current.options, **override.options})


def apply(definition: PipelineDefinition, overrides: Overrides, *,
          name: str | None = None, description: str | None = None) -> PipelineDefinition:
    """A new definition with the overrides applied in order (later ones win)."""
    phases = {p: [c for c in definition.phases[p] if c.enabled] for p in Phase}
    for override in overrides.steps:
        for phase in _phases_for(override, phases):
            _apply_one(phases[phase], phase, override)
    return replace(definition, name=name or definition.name,
                   description=definition.description if description is None else description,
                   phases={p: tuple(configs) for p, configs in phases.items()},
                   policy={**definition.policy, **overrides.policy})
