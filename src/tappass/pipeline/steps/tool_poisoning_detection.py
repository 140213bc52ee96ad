"""tool_poisoning_detection (detect_tool_poison): tool definitions with hidden instructions
or Unicode tricks in their descriptions, and definitions that changed after they were
first seen (a rug pull).

The SHA-256 of each full definition is pinned per agent in the database on first sight and
per session (`X-Session-Id`) in the session pins; a different hash later is a finding that
names the tool. An admin accepts changed definitions by clearing the agent's pins
(`DELETE /v1/agents/{name}/tools/pins`). Tool names in `allowlist` skip the description scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import ToolPoisoningOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.tools.calls import definition_description, definition_name, definitions
from tappass.tools.instructions import poisoning
from tappass.tools.pins import definition_hash

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


def _rug_pull(name: str, pinned: str, seen: str, where: str) -> Decision:
    return Decision(Action.BLOCK, f"tool {name!r} changed its definition since it was first "
                                  f"seen {where} (rug pull): pinned sha256 {pinned[:12]}…, "
                                  f"now {seen[:12]}…",
                    (Finding("tool_definition_changed", explanation=name),))


class ToolPoisoningDetection:
    id = "tool_poisoning_detection"

    Options = ToolPoisoningOptions

    def __init__(self, options: ToolPoisoningOptions, services: Any) -> None:
        self.options = options
        self._services = services
        self._skip = frozenset(options.allowlist)

    async def run(self, ctx: Context) -> Decision | None:
        for tool in definitions(ctx.body):
            name = definition_name(tool)
            decision = self._poisoned(name, tool) or await self._changed(ctx, name, tool)
            if decision is not None:
                return decision
        return None

    def _poisoned(self, name: str, tool: dict[str, Any]) -> Decision | None:
        if name in self._skip:
            return None
        findings = poisoning(f"{name}\n{definition_description(tool)}")
        if not findings:
            return None
        kinds = ", ".join(sorted({f.type for f in findings}))
        return Decision(Action.BLOCK, f"tool {name!r}: its description holds {kinds}",
                        tuple(Finding(f.type, f.start, f.end, f.score,
                                      f"tool {name!r}: {f.explanation}") for f in findings))

    async def _changed(self, ctx: Context, name: str, tool: dict[str, Any]) -> Decision | None:
        digest = definition_hash(tool)
        state = self._services.tools
        if self.options.pin_per_session and ctx.session_id:
            pinned = await state.session_pins.put(f"{ctx.agent.id}:{ctx.session_id}", name,
                                                  digest)
            if pinned != digest:
                return _rug_pull(name, pinned, digest, "in this session")
        if self.options.pin_per_agent:
            pins = state.agent_pins.setdefault(ctx.agent.id, {})
            if pins.get(name) != digest:  # first sight here, or changed: the store decides
                pins[name] = await self._services.store.pin_tool(ctx.agent.id, name, digest)
            if pins[name] != digest:
                return _rug_pull(name, pins[name], digest, "by this agent")
        return None
