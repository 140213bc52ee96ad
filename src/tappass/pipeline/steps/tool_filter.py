"""tool_filter (filter_tools): removes from the request's `tools` every tool the agent may
not use (see tool_permissions), before the model sees them.

A `tool_choice` that names a removed tool is dropped too; when no tool is left, `tools`,
`tool_choice` and `parallel_tool_calls` are removed from the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import ToolPermissionsOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.pipeline.steps.tool_permissions import access_of
from tappass.tools.calls import definition_name, definitions

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


def without_tools(body: dict[str, Any], removed: set[str]) -> dict[str, Any]:
    """A copy of the body without the named tools (and a tool_choice naming one of them)."""
    kept = [t for t in definitions(body) if definition_name(t) not in removed]
    out = {**body, "tools": kept}
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and (choice.get("function") or {}).get("name") in removed:
        out.pop("tool_choice")
    if not kept:
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            out.pop(key, None)
    return out


class ToolFilter:
    id = "tool_filter"

    Options = ToolPermissionsOptions

    def __init__(self, options: ToolPermissionsOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        tools = definitions(ctx.body)
        if not tools:
            return None
        access = access_of(ctx.agent, self.options)
        removed = {definition_name(t) for t in tools if access.refusal(definition_name(t))}
        if not removed:
            return None
        ctx.body = without_tools(ctx.body, removed)
        names = sorted(removed)
        return Decision(Action.TRANSFORM, f"removed {len(names)} tool(s) the agent may not "
                                          f"use: {', '.join(names)}",
                        tuple(Finding("tool_removed", explanation=n) for n in names))
