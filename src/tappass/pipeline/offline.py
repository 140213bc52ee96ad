"""Detection steps run on plain texts, with no server: what `tappass scan` and `eval` use.

Each text becomes a one-message request; the chosen steps run their `before` logic on it
in order, sharing one scan, exactly as in the gateway. A step's decision gives the findings
(spans in the text as given) and whether it would block. Steps that need the gateway's
services (rate limits, budgets, stores) cannot run here and are refused by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tappass.errors import ConfigError
from tappass.pipeline.context import Context
from tappass.pipeline.definition import load_preset
from tappass.pipeline.options import validate_options
from tappass.pipeline.registry import get_spec, load_class
from tappass.pipeline.step import Category, Phase

# categories whose steps read only the request text
OFFLINE_CATEGORIES = frozenset({Category.DATA_PROTECTION, Category.THREAT_DETECTION,
                                Category.CLASSIFY_AND_PREPARE})
NEEDS_SERVICES = frozenset({"validate_input", "adaptive_thresholds", "inspect_images",
                            "pii_tokenization", "pii_restore", "taint_tracking",
                            "classify_data"})   # sessions, the pipeline's policy, results


@dataclass(frozen=True, slots=True)
class Hit:
    step: str
    type: str
    start: int | None
    end: int | None
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "type": self.type, "start": self.start, "end": self.end,
                "score": self.score}


@dataclass(frozen=True, slots=True)
class Outcome:
    blocked: bool
    hits: tuple[Hit, ...]


class OfflineRunner:
    def __init__(self, step_ids: Sequence[str], flags: dict[str, str] | None = None,
                 options: dict[str, dict[str, Any]] | None = None) -> None:
        # findings are reported, never masked: masking would move the offsets of later steps
        self.flags = {**(flags or {}), "mode": "enforce"}
        if self.flags.get("pii") != "off":
            self.flags["pii"] = "block"
        self.steps: list[tuple[str, Any]] = []
        for step_id in step_ids:
            spec = get_spec(step_id)
            if not spec.available:
                raise ConfigError(f"step {spec.id!r} has no implementation in this version")
            if spec.id in NEEDS_SERVICES or spec.category not in OFFLINE_CATEGORIES:
                raise ConfigError(f"step {spec.id!r} needs the gateway's services and cannot "
                                  "run offline; choose detection steps such as detect_pii")
            raw = (options or {}).get(spec.id, {})
            opts = validate_options(spec.id, raw, f"--steps {spec.id}")
            self.steps.append((spec.id, load_class(spec.id)(opts, None)))

    @classmethod
    def for_preset(cls, name: str, flags: dict[str, str] | None = None) -> OfflineRunner:
        """The preset's implemented detection steps of the `before` phase, with its options."""
        definition = load_preset(name)
        chosen = [c for c in definition.phases[Phase.BEFORE] if c.enabled and _offline(c.id)]
        return cls([c.id for c in chosen], {**definition.defaults, **(flags or {})},
                   {c.id: c.options for c in chosen})

    @property
    def step_ids(self) -> list[str]:
        return [step_id for step_id, _ in self.steps]

    async def run(self, text: str) -> Outcome:
        ctx = Context(audit_id="scan", services=None, agent=None,  # type: ignore[arg-type]
                      pipeline=None, flags=self.flags, session_id=None,  # type: ignore[arg-type]
                      body={"model": "scan", "messages": [{"role": "user", "content": text}]})
        blocked = False
        hits: list[Hit] = []
        for step_id, step in self.steps:
            decision = await step.run(ctx)
            if decision is None:
                continue
            blocked = blocked or decision.blocks
            hits.extend(Hit(step_id, f.type, f.start, f.end, f.score) for f in decision.findings)
        return Outcome(blocked, tuple(hits))


def _offline(step_id: str) -> bool:
    spec = get_spec(step_id)
    return spec.available and spec.id not in NEEDS_SERVICES and \
        spec.category in OFFLINE_CATEGORIES


def parse_steps(value: str) -> list[str]:
    """`a,b` -> canonical step ids (aliases accepted); ConfigError names a bad one."""
    ids = [get_spec(part.strip()).id for part in value.split(",") if part.strip()]
    if not ids:
        raise ConfigError("--steps: give at least one step id, e.g. --steps detect_pii")
    return ids
