"""tool_governance_verification (verify_tool_governance): every tool result sent back to
the model answers a tool call the conversation shows (a result cannot be slipped in without
the call that governance saw), and, at the decision API, a presented capability token must
be the gateway's own, unexpired, for this agent, this tool and exactly these arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import NoOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.tools.capability import CapabilityError, CapabilitySigner

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.tools.calls import ToolCall
    from tappass.tools.gate import ToolRequest


def verify_token(signer: CapabilitySigner, request: ToolRequest, call: ToolCall,
                 token: str) -> Decision | None:
    try:
        signer.verify(token, agent_id=request.agent.id, tool=call.name,
                      arguments=call.arguments)
    except CapabilityError as exc:
        return Decision(Action.BLOCK, str(exc), (Finding("capability_invalid",
                                                         explanation=call.name),))
    return None


def _call_ids(messages: list[dict[str, Any]]) -> set[str]:
    return {str(item.get("id")) for m in messages if m.get("role") == "assistant"
            for item in m.get("tool_calls") or () if isinstance(item, dict)}


class ToolGovernanceVerification:
    id = "tool_governance_verification"

    Options = NoOptions

    def __init__(self, options: NoOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        messages = ctx.body["messages"]
        results = [(i, m) for i, m in enumerate(messages) if m.get("role") == "tool"]
        if not results:
            return None
        known = _call_ids(messages)
        for i, message in results:
            if str(message.get("tool_call_id")) not in known:
                return Decision(Action.BLOCK, f"messages[{i}] is a tool result that answers "
                                              "no tool call in the conversation",
                                (Finding("ungoverned_tool_result", explanation=f"messages[{i}]"),))
        return None
