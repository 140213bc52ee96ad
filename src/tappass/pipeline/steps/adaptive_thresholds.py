"""adaptive_thresholds: detection gets stricter for an agent or a session that has been
setting it off, and relaxes to the configured baseline as time passes.

Runs at the start of the before phase. It reads the agent's and the session's heat
(`tappass.pipeline.adaptive`: recent request risk, halved every `half_life_seconds`,
capped at 1; the agent's counts half, as all its sessions share it), takes the larger, and
multiplies the thresholds of the detection steps that follow by `1 - max_tightening * heat`
(default at most 35 % lower: an injection threshold of 0.4 becomes 0.26 at full heat).
Steps that honour it: `detect_prompt_injection`, `detect_unicode_tricks`. When it
tightens, it records a flag naming the factor and both heats; otherwise nothing. The
request's own risk is added at its end, whatever the outcome.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tappass.pipeline.adaptive import (
    AGENT_WEIGHT,
    FACTOR_KEY,
    agent_key,
    configure,
    heat,
    session_key,
)
from tappass.pipeline.options import AdaptiveOptions
from tappass.pipeline.step import Action, Decision, Finding

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class AdaptiveThresholds:
    id = "adaptive_thresholds"

    Options = AdaptiveOptions

    def __init__(self, options: AdaptiveOptions, services: Any) -> None:
        self._options = options

    async def run(self, ctx: Context) -> Decision | None:
        options = self._options
        configure(ctx, options.window_requests)
        kv, now = ctx.services.kv, time.time()
        agent_heat = AGENT_WEIGHT * heat(await kv.list_get(agent_key(ctx.agent.name)), now,
                                         options.half_life_seconds)
        session_heat = 0.0
        if ctx.session.supplied:
            session_heat = heat(await kv.list_get(session_key(ctx)), now,
                                options.half_life_seconds)
        hottest = max(agent_heat, session_heat)
        factor = round(1.0 - options.max_tightening * hottest, 4)
        if factor >= 0.995:
            return None
        ctx.state[FACTOR_KEY] = factor
        return Decision(Action.FLAG, f"detection thresholds x{factor:.2f} after recent findings",
                        (Finding("thresholds_tightened", None, None, round(hottest, 4),
                                 f"factor {factor:.2f}; agent heat {agent_heat:.2f}, "
                                 f"session heat {session_heat:.2f}"),))
