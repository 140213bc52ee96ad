"""session_budget: caps the USD spend and the number of calls of one session.

Options `budget_usd` (spend) and `max_calls` (calls sent upstream); neither set, the step
allows. The call's estimated cost and the call itself are reserved on the session's
shared counters together with the check, so the caps hold across workers (see
`tappass.spend`); a request that `budget_enforcement` already reserved for is counted once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.kv import Counter, units_usd, usd_units
from tappass.money import format_usd
from tappass.pipeline.options import SessionBudgetOptions
from tappass.pipeline.step import Action, Decision
from tappass.pipeline.steps.budget_enforcement import estimate_cost

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class SessionBudget:
    id = "session_budget"

    Options = SessionBudgetOptions

    def __init__(self, options: SessionBudgetOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        options = self.options
        if options.budget_usd is None and options.max_calls is None:
            return None
        session = ctx.session
        estimate = estimate_cost(ctx)
        counters = []
        if options.budget_usd is not None:
            counters.append(Counter(session.spend_key, usd_units(estimate), session.ttl,
                                    cap=usd_units(options.budget_usd)))
        if options.max_calls is not None:
            counters.append(Counter(session.turns_key, 1, session.ttl, cap=options.max_calls))
        result = await ctx.ledger.reserve(counters)
        if result.status == "ok":
            return None
        if counters[result.index].key == session.turns_key:
            return Decision(Action.BLOCK, f"session {session.id} has made {result.current} "
                                          f"calls; its limit is {options.max_calls}")
        assert options.budget_usd is not None
        return Decision(Action.BLOCK, f"estimated call cost {format_usd(estimate)} would "
                                      f"exceed the session budget of "
                                      f"{format_usd(options.budget_usd)} (spent "
                                      f"{format_usd(units_usd(result.current))})")
