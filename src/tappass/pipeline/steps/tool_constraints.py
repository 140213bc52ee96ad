"""tool_constraints: tool-call arguments must meet the configured constraints (a path under
a root, a glob, a regex, an enum, no denied pattern, a maximum length, required), and
email-sending calls must respect the `email` flag (block, internal:<domain>, or
mirror:<address>, which rewrites the recipients).

Before the call it checks the tool calls the conversation shows; calls in the model's
answer go through `check_call` (run by `tool_call` and the decision API).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import ToolConstraintsOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.tools.calls import ToolCall, history_calls
from tappass.tools.constraints import violation
from tappass.tools.email import apply_email_flag

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.tools.gate import ToolRequest


class ToolConstraints:
    id = "tool_constraints"

    Options = ToolConstraintsOptions

    def __init__(self, options: ToolConstraintsOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        for call in history_calls(ctx.body):
            reason = violation(call, self.options.constraints)
            if reason:
                return _block("argument_constraint", call.name,
                              f"the conversation holds a call that breaks a constraint: {reason}")
        return None

    def constraints_for(self, name: str) -> dict[str, Any]:
        """The constraints on the tool's arguments, as a capability token lists them."""
        return {path: rule.model_dump(exclude_defaults=True)
                for pattern, rules in self.options.constraints.items()
                if fnmatchcase(name, pattern) for path, rule in rules.items()}

    def check_call(self, request: ToolRequest, call: ToolCall) -> Decision | ToolCall | None:
        verdict = apply_email_flag(call, request.flags.get("email"))
        if isinstance(verdict, str):
            return _block("email_policy", call.name, verdict)
        if verdict is not None:
            call = verdict
        reason = violation(call, self.options.constraints)
        if reason:
            return _block("argument_constraint", call.name, reason)
        return verdict


def _block(kind: str, tool: str, reason: str) -> Decision:
    return Decision(Action.BLOCK, reason, (Finding(kind, explanation=tool),))
