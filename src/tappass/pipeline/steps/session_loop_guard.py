"""session_loop_guard: stops an agent repeating the same tool call across its session.

Each tool call is recorded in the session's history once, when the gateway first sees it
(by its id); the same call (name and arguments) recorded more than `max_repeats` times in
the last `window_seconds` blocks the request, whichever worker saw the earlier calls.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import LoopGuardOptions
from tappass.pipeline.step import Decision
from tappass.pipeline.steps.loop_guard import loop_decision, tool_calls_in

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class SessionLoopGuard:
    id = "session_loop_guard"

    Options = LoopGuardOptions

    def __init__(self, options: LoopGuardOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        calls = tool_calls_in(ctx.body["messages"])
        if not calls:
            return None
        history = await ctx.session.record_tool_calls(calls)
        since = time.time() - self.options.window_seconds
        recent = [r for r in history if r.at >= since]
        counts = Counter(r.digest for r in recent)
        names = {r.digest: r.name for r in recent}
        return loop_decision(counts, names, self.options.max_repeats, "in this session")
