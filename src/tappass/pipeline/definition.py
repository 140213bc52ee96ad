"""Pipeline definitions: presets (data files in the package) and their compiled form.

A definition says which steps run in which phase, in order, with which options. Compiling
resolves aliases, validates every step's options against its `Options` model (errors name
the path, e.g. `steps.before[3].options.limit`) and builds each available step once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from tappass.errors import ConfigError
from tappass.pipeline.options import validate_options
from tappass.pipeline.registry import StepSpec, get_spec, load_class
from tappass.pipeline.step import GovernsText, Phase

PRESET_NAMES = ("starter", "standard", "regulated")


@dataclass(frozen=True, slots=True)
class StepConfig:
    id: str
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PipelineDefinition:
    name: str
    description: str
    defaults: dict[str, str]
    phases: dict[Phase, tuple[StepConfig, ...]]
    policy: dict[str, Any] = field(default_factory=dict)

    def count(self, phase: Phase) -> int:
        return sum(1 for step in self.phases[phase] if step.enabled)


@dataclass(frozen=True, slots=True)
class Entry:
    """One step at one position of a compiled pipeline; `step` is None when unavailable."""

    spec: StepSpec
    phase: Phase
    step: Any | None
    governs_text: bool = False   # the step governs streamed text (`GovernsText`), known once


@dataclass(frozen=True, slots=True)
class Pipeline:
    definition: PipelineDefinition
    phases: dict[Phase, tuple[Entry, ...]]
    available_ids: frozenset[str] = frozenset()   # the steps that run (built, enabled)

    @property
    def name(self) -> str:
        return self.definition.name

    def default_budget(self) -> str | None:
        """The `budget` tier budget_enforcement applies when the flag is unset (None: no step)."""
        for entries in self.phases.values():
            for entry in entries:
                if entry.spec.id == "budget_enforcement" and entry.step is not None:
                    return str(entry.step.options.default_budget)
        return None

    def unavailable(self) -> list[str]:
        return sorted({e.spec.id for entries in self.phases.values() for e in entries
                       if e.step is None})


def _parse_steps(raw: Any, path: str) -> tuple[StepConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected a list of step ids")
    configs = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            configs.append(StepConfig(id=item))
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            configs.append(StepConfig(id=item["id"], enabled=bool(item.get("enabled", True)),
                                      options=dict(item.get("options") or {})))
        else:
            raise ConfigError(f"{path}[{i}]: expected a step id or {{id, enabled, options}}")
    return tuple(configs)


def parse_definition(data: Any, source: str) -> PipelineDefinition:
    if not isinstance(data, dict) or not isinstance(data.get("steps"), dict):
        raise ConfigError(f"{source}: expected a mapping with 'name' and 'steps'")
    phases = {phase: _parse_steps(data["steps"].get(phase.value, []),
                                  f"{source}: steps.{phase.value}") for phase in Phase}
    return PipelineDefinition(name=str(data.get("name", source)),
                              description=str(data.get("description", "")),
                              defaults=dict(data.get("defaults") or {}), phases=phases)


@cache
def load_preset(name: str) -> PipelineDefinition:
    """The preset shipped in the package (cached; definitions are immutable)."""
    if name not in PRESET_NAMES:
        raise ConfigError(f"unknown preset {name!r}; valid presets: {', '.join(PRESET_NAMES)}")
    text = resources.files("tappass.pipeline.presets").joinpath(f"{name}.yaml").read_text()
    return parse_definition(yaml.safe_load(text), f"preset {name}")


def _build(config: StepConfig, phase: Phase, index: int, services: Any) -> Entry:
    spec = get_spec(config.id)
    options = validate_options(spec.id, config.options,
                               f"steps.{phase.value}[{index}] ({spec.id}).options")
    if not spec.available:
        return Entry(spec, phase, None)
    step = load_class(spec.id)(options, services)
    return Entry(spec, phase, step, isinstance(step, GovernsText))


def compile_pipeline(definition: PipelineDefinition, services: Any) -> Pipeline:
    phases = {
        phase: tuple(_build(config, phase, i, services)
                     for i, config in enumerate(definition.phases[phase]) if config.enabled)
        for phase in Phase
    }
    built = frozenset(e.spec.id for entries in phases.values() for e in entries
                      if e.step is not None)
    return Pipeline(definition, phases, built)
