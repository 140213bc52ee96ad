"""One tool call through the tool checks of a pipeline, outside the steps' own `run`.

A step that governs individual tool calls implements

    def check_call(self, request: ToolRequest, call: ToolCall) -> Decision | ToolCall | None

(a blocking Decision, the call rewritten, or None). `decide` runs them in pipeline order:
for the tool calls in a model's answer (`tool_call`), for the decision API
(`POST /v1/tools/govern`) and for the tool calls of scenario files.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tappass.pipeline.step import Decision
from tappass.tools.calls import ToolCall
from tappass.tools.scopes import STATE_KEY

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.pipeline.definition import Pipeline
    from tappass.storage.base import AgentRecord


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """Who asks for a tool call: the agent, its flags, the end user's scopes, the session."""

    agent: AgentRecord
    flags: Mapping[str, str]
    scopes: frozenset[str] | None = None
    session_id: str | None = None

    @classmethod
    def of(cls, ctx: Context) -> ToolRequest:
        return cls(ctx.agent, ctx.flags, ctx.state.get(STATE_KEY), ctx.session_id)


@dataclass(slots=True)
class Outcome:
    """The call as it may run (possibly rewritten), and the first check that refused it."""

    call: ToolCall
    step: str | None = None
    decision: Decision | None = None
    checked: list[str] = field(default_factory=list)   # steps that looked at the call
    rewritten_by: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.decision is not None and self.decision.blocks


def checks(pipeline: Pipeline, skip: Collection[str] = ()) -> list[tuple[str, Any]]:
    """(step id, step) of every implemented step that checks single calls, in order."""
    seen: dict[str, Any] = {}
    for entries in pipeline.phases.values():
        for entry in entries:
            step = entry.step
            if step is not None and hasattr(step, "check_call") and entry.spec.id not in skip:
                seen.setdefault(entry.spec.id, step)
    return list(seen.items())


def decide(steps: list[tuple[str, Any]], request: ToolRequest, call: ToolCall) -> Outcome:
    """Run the checks; stops at the first blocking decision."""
    outcome = Outcome(call)
    for step_id, step in steps:
        outcome.checked.append(step_id)
        verdict = step.check_call(request, outcome.call)
        if isinstance(verdict, ToolCall):
            outcome.call = verdict
            outcome.rewritten_by.append(step_id)
        elif verdict is not None and verdict.blocks:
            outcome.step, outcome.decision = step_id, verdict
            return outcome
    return outcome
