"""JSON views of pipelines and steps, shared by the admin API and the CLI."""

from __future__ import annotations

from typing import Any

from tappass.pipeline.definition import PRESET_NAMES, PipelineDefinition, load_preset
from tappass.pipeline.options import OPTIONS, describe
from tappass.pipeline.overrides import allowed_phases
from tappass.pipeline.registry import BY_ID, StepSpec
from tappass.pipeline.step import Category, Phase


def counts(definition: PipelineDefinition) -> dict[str, int]:
    out = {phase.value: definition.count(phase) for phase in Phase}
    return {**out, "total": sum(out.values())}


def _step_row(step_id: str, options: dict[str, Any]) -> dict[str, Any]:
    spec = BY_ID[step_id]
    return {"step": step_id, "category": spec.category.value, "available": spec.available,
            "options": options}


def pipeline_view(definition: PipelineDefinition, *, kind: str,
                  spec: dict[str, Any] | None = None) -> dict[str, Any]:
    phases = {phase.value: [_step_row(c.id, c.options) for c in definition.phases[phase]
                            if c.enabled] for phase in Phase}
    by_category: dict[str, dict[str, list[str]]] = {}
    for phase, rows in phases.items():
        grouped: dict[str, list[str]] = {}
        for category in Category:
            steps = [row["step"] for row in rows if row["category"] == category.value]
            if steps:
                grouped[category.value] = steps
        by_category[phase] = grouped
    unavailable = sorted({row["step"] for rows in phases.values() for row in rows
                          if not row["available"]})
    view = {"name": definition.name, "kind": kind, "description": definition.description,
            "defaults": definition.defaults, "policy": definition.policy,
            "counts": counts(definition), "phases": phases, "categories": by_category,
            "unavailable": unavailable}
    if spec is not None:
        view["spec"] = spec
    return view


def _option_rows(step_id: str, current: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    for name, info in OPTIONS[step_id].model_fields.items():
        default = info.get_default(call_default_factory=True)
        if hasattr(default, "model_dump"):
            default = default.model_dump()
        row = {"name": name, "type": describe(info.annotation), "default": default,
               "description": info.description or ""}
        if current is not None:
            row["current"] = current.get(name, default)
        rows.append(row)
    return rows


def step_summary(spec: StepSpec) -> dict[str, Any]:
    return {"id": spec.id, "category": spec.category.value, "summary": spec.summary,
            "aliases": list(spec.aliases), "available": spec.available,
            "phases": [p.value for p in allowed_phases(spec.id)]}


def step_view(spec: StepSpec, definition: PipelineDefinition | None = None) -> dict[str, Any]:
    """Everything about one step; `current` option values in `definition` if given."""
    current: dict[str, Any] | None = None
    runs_in: list[str] = []
    if definition is not None:
        for phase in Phase:
            for config in definition.phases[phase]:
                if config.id == spec.id and config.enabled:
                    runs_in.append(phase.value)
                    current = {**(current or {}), **config.options}
    presets = {name: [p.value for p in Phase
                      if any(c.id == spec.id for c in load_preset(name).phases[p])]
               for name in PRESET_NAMES}
    view = {**step_summary(spec), "presets": presets,
            "options": _option_rows(spec.id, current if definition is not None else None),
            "status": "implemented" if spec.available else
            "unavailable: registered, implementation not in this version"}
    if definition is not None:
        view["pipeline"] = {"name": definition.name, "runs_in": runs_in}
    return view
