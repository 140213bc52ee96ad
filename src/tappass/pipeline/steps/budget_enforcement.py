"""budget_enforcement: caps USD spend per call and per agent (session or UTC day).

The cap comes from the `budget` flag (dev | standard | unlimited | custom:<call>:<session>)
and the pipeline option `budget_usd`, whichever is lower. The cost of the coming call is
estimated from its size and `max_tokens` before it is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.money import format_usd
from tappass.pipeline.options import BudgetOptions
from tappass.pipeline.step import Action, Decision
from tappass.policy.budget import budget_for
from tappass.providers.pricing import cost_usd
from tappass.state import utc_day_start

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

DEFAULT_COMPLETION_TOKENS = 1024


def estimate_cost(ctx: Context) -> float:
    prompt_tokens = sum(map(len, ctx.texts())) // 4 + 1
    body = ctx.body
    completion = body.get("max_completion_tokens") or body.get("max_tokens")
    if not isinstance(completion, int):
        completion = DEFAULT_COMPLETION_TOKENS
    return cost_usd(ctx.model, prompt_tokens, completion) or 0.0


class BudgetEnforcement:
    id = "budget_enforcement"

    Options = BudgetOptions

    def __init__(self, options: BudgetOptions, services: Any) -> None:
        self.options = options
        self._services = services
        budget_for(options.default_budget)  # validate at load

    async def run(self, ctx: Context) -> Decision | None:
        budget = budget_for(ctx.flags.get("budget", self.options.default_budget))
        estimate = estimate_cost(ctx)
        if budget.per_call is not None and estimate > budget.per_call:
            return Decision(Action.BLOCK, f"estimated call cost {format_usd(estimate)} exceeds "
                                          f"the per-call budget of {format_usd(budget.per_call)}")
        caps = [c for c in (budget.per_session, self.options.budget_usd) if c is not None]
        if not caps:
            return None
        spent = await self._spent(ctx)
        if spent + estimate > min(caps):
            window = "session" if ctx.session_id else "day"
            return Decision(Action.BLOCK, f"estimated call cost {format_usd(estimate)} would "
                                          f"exceed the budget of {format_usd(min(caps))} per "
                                          f"{window} (spent {format_usd(spent)})")
        return None

    async def _spent(self, ctx: Context) -> float:
        state = self._services.state
        if ctx.session_id:
            return float(state.session_spend(ctx.agent.name, ctx.session_id))
        spent = state.daily_spend(ctx.agent.name)
        if spent is None:
            spent = await self._services.store.sum_cost(ctx.agent.name, utc_day_start())
            state.load_daily_spend(ctx.agent.name, spent)
        return float(spent)
