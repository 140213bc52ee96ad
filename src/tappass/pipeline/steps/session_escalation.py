"""session_escalation: risk that builds up over a session's turns crosses a threshold.

Every request of a session adds its risk to the session's running total (kept in the shared
state for the session's lifetime, so every worker sees it). A threat step (threat detection,
response safety, tool scanning) that blocks, or would block in observe mode, adds half its
highest finding score; one that flags adds a quarter. A data-protection step adds a quarter
of its score only when it blocks: masking personal data or noting a place name is ordinary
business, not an attack. The request's risk is the largest of those, so one request counts
once however many steps saw it. Requests that another step blocked outright count too (the
server reports them here). Access control (rate limits, budgets, tool allowlists) is not
risk.

When the total reaches `threshold` (default 0.8: two blocked injection attempts, or four
flagged ones) the session is escalated: this and every later answer in the session is
refused with `session_escalation` (`would_block` in observe mode) until the session expires
(`TAPPASS_SESSION_TTL` after its last use). Requests without `X-Session-Id` are sessions of
one request and never escalate.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import EscalationOptions
from tappass.pipeline.registry import BY_ID
from tappass.pipeline.step import Action, Category, Decision, Finding, Phase, Verdict

if TYPE_CHECKING:
    from tappass.pipeline.context import Context, StepResult

STEP_ID = "session_escalation"
_COUNTED = "session_escalation_counted"     # ctx.state: this request's risk is in the total
_THREATS = frozenset({Category.THREAT_DETECTION, Category.RESPONSE_SAFETY})
_THREAT_STEPS = frozenset({"tool_call_scan", "tool_poisoning_detection"})
_BLOCKS = frozenset({Verdict.BLOCK, Verdict.WOULD_BLOCK, Verdict.REQUIRE_APPROVAL})


def request_risk(results: Iterable[StepResult]) -> float:
    """The risk one request adds to its session, in [0, 0.5]."""
    risk = 0.0
    for result in results:
        weight = _weight(result)
        if weight:
            score = max((f.score for f in result.findings), default=1.0)
            risk = max(risk, weight * min(score, 1.0))
    return round(risk, 4)


def _weight(result: StepResult) -> float:
    spec = BY_ID.get(result.step)
    if spec is None or spec.id == STEP_ID:
        return 0.0
    blocks = result.verdict in _BLOCKS
    if spec.category in _THREATS or spec.id in _THREAT_STEPS:
        return 0.5 if blocks else 0.25 if result.verdict is Verdict.FLAG else 0.0
    if spec.category is Category.DATA_PROTECTION and blocks:
        return 0.25
    return 0.0


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


async def note_blocked_request(ctx: Context) -> None:
    """A request blocked by another step still counts, when the pipeline escalates."""
    if any(entry.spec.id == STEP_ID and entry.step is not None
           for entry in ctx.pipeline.phases[Phase.AFTER]):
        await add_request_risk(ctx, total_needed=False)


class SessionEscalation:
    id = STEP_ID

    Options = EscalationOptions

    def __init__(self, options: EscalationOptions, services: Any) -> None:
        self._threshold = options.threshold

    async def run(self, ctx: Context) -> Decision | None:
        total = await add_request_risk(ctx)
        if total < self._threshold or not ctx.session.supplied:
            return None
        return Decision(Action.BLOCK, f"session escalated: accumulated risk {total:.2f} "
                        f"reached the threshold {self._threshold:.2f}",
                        (Finding("session_escalation", None, None, min(total, 1.0),
                                 f"risk accumulated over the session's requests: {total:.2f}"),))
