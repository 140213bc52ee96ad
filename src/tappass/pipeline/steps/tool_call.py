"""tool_call (call_tool): governs the tool calls in the model's answer before the agent
runs them.

Each call goes through the pipeline's tool checks (`check_call` of tool_permissions,
user_tool_scopes, tool_constraints, tool_call_scan; see `tappass.tools.gate`); the first
refusal blocks the answer with a reason that names the refusing step. Calls rewritten by a
check (the `email=mirror:<address>` flag) are rewritten in the answer. Every allowed call
gets a short-lived capability token, returned in the answer's extra `tappass.capabilities`
field (OpenAI clients ignore it) for `POST /v1/tools/govern` or offline verification.
In a streamed answer the gateway's stream governor holds each choice's tool calls back
until they are complete and runs `govern_calls` on them before they are sent; the
capability tokens then ride in the `tappass` field of the chunk that carries the calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import NoOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.tools.calls import answer_calls
from tappass.tools.gate import Outcome, ToolRequest, checks, decide

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.pipeline.definition import Pipeline

def refusal(outcome: Outcome) -> Decision:
    assert outcome.decision is not None
    decision = outcome.decision
    return Decision(Action.BLOCK, f"{outcome.step}: {decision.reason}",
                    (*decision.findings, Finding("refused_by", explanation=str(outcome.step))))


def _tool_call_items(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for choice in response.get("choices") or () if isinstance(choice, dict)
            for item in (choice.get("message") or {}).get("tool_calls") or ()
            if isinstance(item, dict) and isinstance(item.get("function"), dict)
            and isinstance(item["function"].get("name"), str)]


def constraints_in(pipeline: Pipeline, name: str) -> dict[str, Any]:
    """The argument constraints tool_constraints applies to the tool (for its token)."""
    for entries in pipeline.phases.values():
        for entry in entries:
            if entry.spec.id == "tool_constraints" and entry.step is not None:
                return dict(entry.step.constraints_for(name))
    return {}


class ToolCallStep:
    id = "tool_call"

    Options = NoOptions

    def __init__(self, options: NoOptions, services: Any) -> None:
        self.options = options
        self._services = services

    async def run(self, ctx: Context) -> Decision | None:
        if ctx.mode == "off" or ctx.stream:
            return None  # a stream's calls are governed as it passes (`govern_calls`)
        if ctx.response is None:
            return None
        return self.govern_calls(ctx, ctx.response)

    def govern_calls(self, ctx: Context, response: dict[str, Any]) -> Decision | None:
        """Check the tool calls of `response` (an answer, or the completed calls of a
        stream as `{"choices": [{"message": {"tool_calls": [...]}}]}`), rewriting it."""
        calls = answer_calls(response)
        if not calls:
            return None
        steps = checks(ctx.pipeline)
        request = ToolRequest.of(ctx)
        outcomes = [decide(steps, request, call) for call in calls]
        for outcome in outcomes:
            if outcome.blocked:
                return refusal(outcome)
        return self._answer(ctx, response, outcomes)

    def _answer(self, ctx: Context, response: dict[str, Any],
                outcomes: list[Outcome]) -> Decision | None:
        """Write rewritten arguments and capability tokens into the answer."""
        signer = self._services.tools.signer()
        items = _tool_call_items(response)
        capabilities, rewritten = [], []
        for item, outcome in zip(items, outcomes, strict=True):
            final = outcome.call
            if outcome.rewritten_by:
                item["function"]["arguments"] = final.raw_arguments
                rewritten.append(final.name)
            capabilities.append({
                "tool_call_id": item.get("id"), "tool": final.name,
                "token": signer.issue(ctx.agent.id, final.name, final.arguments,
                                      constraints_in(ctx.pipeline, final.name)),
                "expires_in": int(signer.ttl)})
        response["tappass"] = {"capabilities": capabilities}
        if response is ctx.response:
            ctx.response_bytes = None
        if rewritten:
            return Decision(Action.TRANSFORM, f"rewrote the arguments of {len(rewritten)} tool "
                                              f"call(s): {', '.join(rewritten)}")
        return None
