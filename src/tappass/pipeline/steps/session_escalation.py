"""session_escalation: risk that builds up over a session's turns crosses a threshold.

Every request of a session adds its risk (`tappass.pipeline.risk`: half the top score of a
threat step that blocks or would block, a quarter of one that flags, a quarter of a
data-protection block; masking and access control add nothing) to the session's running
total, kept in the shared state for the session's lifetime so every worker sees it.
Requests that another step blocked outright count too (`tappass.pipeline.outcome` adds
those at the end of the request).

When the total reaches `threshold` (default 0.8: two blocked injection attempts, or four
flagged ones) the session is escalated: this and every later answer in the session is
refused with `session_escalation` (`would_block` in observe mode) until the session expires
(`TAPPASS_SESSION_TTL` after its last use). Requests without `X-Session-Id` are sessions of
one request and never escalate. The first request this step finds over the threshold
carries the finding `risk_threshold_crossed` (the `escalation` alert webhooks fire on it,
once per session); later ones carry `session_escalation`. When a request blocked before
the call takes the session over, the announcement comes with the session's next request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import EscalationOptions
from tappass.pipeline.risk import request_risk
from tappass.pipeline.step import Action, Decision, Finding

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

STEP_ID = "session_escalation"
CROSSED = "risk_threshold_crossed"   # the finding of the request that escalated the session
_COUNTED = "session_escalation_counted"     # ctx.state: this request's risk is in the total


async def add_request_risk(ctx: Context, *, total_needed: bool = True) -> float:
    """Add this request's risk to its session once; the session's total afterwards (0.0
    when nothing was added and `total_needed` is false)."""
    session = ctx.session
    if not session.supplied:
        return 0.0
    if _COUNTED in ctx.state:
        return float(ctx.state[_COUNTED])
    risk = request_risk(ctx.results)
    if risk > 0:
        total = await session.add_escalation(risk)
    elif total_needed:
        total = await session.escalation()
    else:
        return 0.0
    ctx.state[_COUNTED] = total
    return total


class SessionEscalation:
    id = STEP_ID

    Options = EscalationOptions

    def __init__(self, options: EscalationOptions, services: Any) -> None:
        self._threshold = options.threshold

    async def run(self, ctx: Context) -> Decision | None:
        total = await add_request_risk(ctx)
        if total < self._threshold or not ctx.session.supplied:
            return None
        kind = CROSSED if await ctx.session.mark_escalated(ctx.audit_id) \
            else "session_escalation"
        return Decision(Action.BLOCK, f"session escalated: accumulated risk {total:.2f} "
                        f"reached the threshold {self._threshold:.2f}",
                        (Finding(kind, None, None, min(total, 1.0),
                                 f"risk accumulated over the session's requests: {total:.2f}"),))
