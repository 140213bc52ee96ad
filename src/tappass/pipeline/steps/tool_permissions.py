"""tool_permissions (check_tools): only the tools on the agent's allow list, never those on
its deny list (names or globs such as `delete_*`).

Lists come from the agent (`PUT /v1/agents/{name}/tools`) and from this step's options.
Before the call it refuses tool calls the conversation shows and, when the pipeline has no
enabled `tool_filter` to remove them, tool definitions the agent may not use. Calls in the
model's answer are checked through `check_call` by `tool_call` (and by the decision API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import ToolPermissionsOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.tools.access import ToolAccess, combine
from tappass.tools.calls import ToolCall, definition_name, definitions, history_calls

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.storage.base import AgentRecord
    from tappass.tools.gate import ToolRequest


def access_of(agent: AgentRecord, options: ToolPermissionsOptions) -> ToolAccess:
    return combine(agent.tools, options.allowed_tools, options.denied_tools, options.default)


def refused(name: str, reason: str) -> Decision:
    return Decision(Action.BLOCK, reason, (Finding("tool_not_allowed", explanation=name),))


def _has_filter(ctx: Context) -> bool:
    return any(entry.spec.id == "tool_filter" and entry.step is not None
               for entries in ctx.pipeline.phases.values() for entry in entries)


class ToolPermissions:
    id = "tool_permissions"

    Options = ToolPermissionsOptions

    def __init__(self, options: ToolPermissionsOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        access = access_of(ctx.agent, self.options)
        for call in history_calls(ctx.body):
            reason = access.refusal(call.name)
            if reason:
                return refused(call.name, f"the conversation holds a call of a tool the agent "
                                          f"may not use: {reason}")
        if _has_filter(ctx):
            return None
        for tool in definitions(ctx.body):
            name = definition_name(tool)
            reason = access.refusal(name)
            if reason:
                return refused(name, f"{reason}; remove it from the request's tools or "
                                     "update the agent's tool allowlist")
        return None

    def check_call(self, request: ToolRequest, call: ToolCall) -> Decision | None:
        reason = access_of(request.agent, self.options).refusal(call.name)
        return refused(call.name, reason) if reason else None
