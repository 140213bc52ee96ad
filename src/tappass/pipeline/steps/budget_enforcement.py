"""budget_enforcement: caps USD spend per call and per agent (session or UTC day).

The cap comes from the `budget` flag (dev | standard | unlimited | custom:<call>:<session>)
and the pipeline option `budget_usd`, whichever is lower. It applies to the session when
the agent sent `X-Session-Id`, else to the agent's UTC day. The cost of the coming call is
estimated from its size and `max_tokens` and reserved on the shared counters together with
the check (see `tappass.spend`), so concurrent calls on any worker cannot pass the cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.kv import Counter, units_usd, usd_units
from tappass.money import format_usd
from tappass.pipeline.options import BudgetOptions
from tappass.pipeline.step import Action, Decision
from tappass.policy.budget import budget_for
from tappass.providers.pricing import cost_usd
from tappass.spend import DAY_TTL, day_key, utc_day_start

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
        self._store = services.store
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
        cap = min(caps)
        session = ctx.session
        units, limit = usd_units(estimate), usd_units(cap)
        counters = [Counter(day_key(ctx.agent.name), units, DAY_TTL, seed=None,
                            cap=None if session.supplied else limit)]
        if session.supplied:
            counters.append(Counter(session.spend_key, units, session.ttl, cap=limit))
        result = await ctx.ledger.reserve(counters, seed=self._day_seed(ctx))
        if result.status == "ok":
            return None
        window = "session" if session.supplied else "day"
        return Decision(Action.BLOCK, f"estimated call cost {format_usd(estimate)} would "
                                      f"exceed the budget of {format_usd(cap)} per {window} "
                                      f"(spent {format_usd(units_usd(result.current))})")

    def _day_seed(self, ctx: Context) -> Any:
        async def seed(key: str) -> int:
            return usd_units(await self._store.sum_cost(ctx.agent.name, utc_day_start()))
        return seed
