"""loop_guard: stops an agent repeating the same tool call within one conversation.

The request carries the conversation so far; the same tool call (same name, same
arguments, key order ignored) made more than `max_repeats` times in it is a loop, and the
request is blocked before it reaches the model. `session_loop_guard` does the same across
the whole session, within `window_seconds`.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import LoopGuardOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.sessions import ToolCall

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


def tool_calls_in(messages: list[dict[str, Any]]) -> list[ToolCall]:
    """The tool calls the assistant made in the conversation, in order."""
    out = []
    for m_index, message in enumerate(messages):
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        if not isinstance(calls, list):
            continue
        for c_index, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                continue
            arguments = function.get("arguments")
            arguments = arguments if isinstance(arguments, str) else ""
            call_id = call.get("id")
            out.append(ToolCall(call_id if isinstance(call_id, str) and call_id
                                else f"@{m_index}:{c_index}", function["name"], arguments))
    return out


def loop_decision(counts: Counter[str], names: dict[str, str], limit: int,
                  where: str) -> Decision | None:
    digest, count = counts.most_common(1)[0] if counts else ("", 0)
    if count <= limit:
        return None
    name = names[digest]
    return Decision(Action.BLOCK, f"tool call {name} repeated {count} times {where} "
                                  f"(at most {limit} allowed)",
                    findings=(Finding("tool_loop", explanation=f"{name} x{count}"),))


class LoopGuard:
    id = "loop_guard"

    Options = LoopGuardOptions

    def __init__(self, options: LoopGuardOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        calls = tool_calls_in(ctx.body["messages"])
        if len(calls) <= self.options.max_repeats:
            return None
        counts = Counter(c.digest for c in calls)
        names = {c.digest: c.name for c in calls}
        return loop_decision(counts, names, self.options.max_repeats, "in this conversation")
