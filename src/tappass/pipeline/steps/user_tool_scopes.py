"""user_tool_scopes: the end user's scopes, passed by the agent in
`X-TapPass-User-Scopes`, narrow which tools may be used on their behalf.

The `scopes` option maps tool names or globs to the scopes they need. With the header, tools
that need a scope the user does not hold are removed from the request's `tools`, and calls
of them (in the conversation, in the model's answer, at the decision API) are refused.
Without the header nothing is narrowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import UserToolScopesOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.pipeline.steps.tool_filter import without_tools
from tappass.tools.calls import ToolCall, definition_name, definitions, history_calls
from tappass.tools.scopes import STATE_KEY, refusal

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.tools.gate import ToolRequest


class UserToolScopes:
    id = "user_tool_scopes"

    Options = UserToolScopesOptions

    def __init__(self, options: UserToolScopesOptions, services: Any) -> None:
        self.options = options

    def _refusal(self, name: str, held: frozenset[str] | None) -> str | None:
        return refusal(name, held, self.options.scopes)

    async def run(self, ctx: Context) -> Decision | None:
        held: frozenset[str] | None = ctx.state.get(STATE_KEY)
        if held is None or not self.options.scopes:
            return None
        for call in history_calls(ctx.body):
            reason = self._refusal(call.name, held)
            if reason:
                return _block(call.name, reason)
        removed = {definition_name(t) for t in definitions(ctx.body)
                   if self._refusal(definition_name(t), held)}
        if not removed:
            return None
        ctx.body = without_tools(ctx.body, removed)
        return Decision(Action.TRANSFORM, f"removed {len(removed)} tool(s) outside the user's "
                                          f"scopes: {', '.join(sorted(removed))}")

    def check_call(self, request: ToolRequest, call: ToolCall) -> Decision | None:
        reason = self._refusal(call.name, request.scopes)
        return _block(call.name, reason) if reason else None


def _block(tool: str, reason: str) -> Decision:
    return Decision(Action.BLOCK, reason, (Finding("scope_missing", explanation=tool),))
