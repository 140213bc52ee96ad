"""budget_enforcement trips on an exact call number, at the equality boundary (issue 20).

The step runs against the real in-process key-value store (`MemoryKV`) the gateway uses;
each "call" is the step's decision (which reserves the estimate on the shared counters)
followed by the end of the request, which replaces the reservation with the cost
cost_tracking recorded (`tappass.spend.settle_request`). Caps are written as the float
sum the step computes, so `spent + estimate == cap` holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from tappass.kv import Delta, MemoryKV, usd_units
from tappass.money import format_usd
from tappass.pipeline.context import Context
from tappass.pipeline.options import BudgetOptions
from tappass.pipeline.step import Action
from tappass.pipeline.steps.budget_enforcement import BudgetEnforcement, estimate_cost
from tappass.spend import DAY_TTL, day_key, settle_request, utc_day_start
from tests.storage_helpers import make_agent

CALL_COST = 0.004          # what cost_tracking records after each call
MESSAGE = "hi there"       # 8 characters: 8 // 4 + 1 = 3 prompt tokens
MAX_TOKENS = 1000
ESTIMATE = (3 * 2.50 + 1000 * 10.00) / 1_000_000  # gpt-4o list prices per token


@dataclass
class SpendStore:
    """The audit trail's `sum_cost`, with what was spent earlier today."""

    earlier_today: float = 0.0
    asked: list[tuple[str, datetime]] = field(default_factory=list)

    async def sum_cost(self, agent: str, since: datetime) -> float:
        self.asked.append((agent, since))
        return self.earlier_today


@dataclass
class Services:
    store: SpendStore
    kv: MemoryKV = field(default_factory=MemoryKV)
    settings: Any = field(default_factory=lambda: SimpleNamespace(session_ttl=600))


class Step(BudgetEnforcement):
    """The step, given each request's Context with the services it was built with (as the
    runner does); it keeps the requests it ran, to end them with `paid`."""

    def __init__(self, options: BudgetOptions, services: Services) -> None:
        super().__init__(options, services)
        self.services = services
        self.requests: list[Context] = []

    async def run(self, ctx: Context) -> Any:
        ctx.services = self.services  # type: ignore[assignment]
        self.requests.append(ctx)
        return await super().run(ctx)


async def paid(ctx: Context, cost: float) -> None:
    """End the request as the gateway does after a call that cost `cost`."""
    ctx.upstream_ms, ctx.cost_usd = 1.0, cost
    await settle_request(ctx)


def context(flags: dict[str, str], session: str | None = None, agent: str = "bot",
            **body: Any) -> Context:
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": MESSAGE}],
               "max_tokens": MAX_TOKENS, **body}
    return Context(audit_id="ae_test", services=None, agent=make_agent(agent),  # type: ignore[arg-type]
                   pipeline=None, flags=flags, session_id=session, body=request)  # type: ignore[arg-type]


def step(services: Services, **options: Any) -> Step:
    return Step(BudgetOptions(**options), services)


async def calls_until_blocked(budget: Step, services: Services,
                              flags: dict[str, str], session: str | None = None,
                              limit: int = 10) -> tuple[int, str]:
    """The number of the first blocked call, and its reason."""
    for number in range(1, limit + 1):
        request = context(flags, session)
        decision = await budget.run(request)
        if decision is not None:
            assert decision.action is Action.BLOCK
            return number, decision.reason
        await paid(request, CALL_COST)
    raise AssertionError(f"no call blocked within {limit}")


def cap(amount: float) -> str:
    return repr(amount)  # round-trips exactly through the flag's float()


def test_estimate_uses_prompt_size_and_the_completion_limit() -> None:
    assert estimate_cost(context({})) == ESTIMATE
    assert estimate_cost(context({}, max_completion_tokens=10)) == \
        round((3 * 2.50 + 10 * 10.00) / 1_000_000, 8)
    assert estimate_cost(context({}, max_tokens=None)) == \
        round((3 * 2.50 + 1024 * 10.00) / 1_000_000, 8)
    assert estimate_cost(context({}, max_tokens="50")) == \
        round((3 * 2.50 + 1024 * 10.00) / 1_000_000, 8)
    parts = [{"type": "text", "text": "x" * 40}, {"type": "image_url", "image_url": {}}]
    assert estimate_cost(context({}, messages=[{"role": "user", "content": parts}])) == \
        round((11 * 2.50 + 1000 * 10.00) / 1_000_000, 8)
    assert estimate_cost(context({}, model="some-unpriced-model")) == 0.0
    five = [{"role": "user", "content": "hello"}]  # 5 // 4 + 1 = 2 whole tokens
    assert estimate_cost(context({}, messages=five)) == \
        round((2 * 2.50 + 1000 * 10.00) / 1_000_000, 8)


async def test_per_call_cap_allows_the_estimate_exactly_and_blocks_above() -> None:
    services = Services(SpendStore())
    budget = step(services)
    at_cap = {"budget": f"custom:{cap(ESTIMATE)}:1000"}
    assert await budget.run(context(at_cap)) is None
    below = {"budget": f"custom:{cap(ESTIMATE - 0.000001)}:1000"}
    decision = await budget.run(context(below))
    assert decision is not None and decision.action is Action.BLOCK
    assert decision.reason == (f"estimated call cost {format_usd(ESTIMATE)} exceeds the "
                               f"per-call budget of {format_usd(ESTIMATE - 0.000001)}")
    assert format_usd(ESTIMATE) == "$0.0100075"  # the amounts are shown as they are


async def test_session_cap_trips_on_the_fourth_call_and_the_third_is_exactly_at_it() -> None:
    services = Services(SpendStore())
    # the agent's day (already on the shared counter, so the trail is not read) is $5:
    # none of it may count against the session's cap
    await services.kv.adjust([Delta(day_key("bot"), usd_units(5.0), DAY_TTL)])
    session_cap = CALL_COST + CALL_COST + ESTIMATE
    flags = {"budget": f"custom:1:{cap(session_cap)}"}
    number, reason = await calls_until_blocked(step(services), services, flags, "s1")
    assert number == 4  # call 3: spent + estimate == cap, still allowed
    assert reason == (f"estimated call cost {format_usd(ESTIMATE)} would exceed the budget of "
                      f"{format_usd(session_cap)} per session (spent {format_usd(3 * CALL_COST)})")
    assert services.store.asked == []  # a session's spend is its own, not the day's


async def test_each_session_has_its_own_budget() -> None:
    services = Services(SpendStore(earlier_today=5.0))
    budget = step(services)
    flags = {"budget": f"custom:1:{cap(CALL_COST + ESTIMATE)}"}
    assert (await calls_until_blocked(budget, services, flags, "s1"))[0] == 3
    assert (await calls_until_blocked(budget, services, flags, "s2"))[0] == 3


async def test_day_cap_counts_what_was_spent_earlier_today() -> None:
    earlier = 0.5
    services = Services(SpendStore(earlier_today=earlier))
    day_cap = earlier + CALL_COST + ESTIMATE
    flags = {"budget": f"custom:1:{cap(day_cap)}"}
    number, reason = await calls_until_blocked(step(services), services, flags)
    assert number == 3  # call 2: spent + estimate == cap, still allowed
    spent = earlier + 2 * CALL_COST
    assert reason == (f"estimated call cost {format_usd(ESTIMATE)} would exceed the budget of "
                      f"{format_usd(day_cap)} per day (spent {format_usd(spent)})")
    assert services.store.asked == [("bot", utc_day_start())]  # loaded once, then counted


async def test_the_lower_of_flag_and_pipeline_budget_applies() -> None:
    services = Services(SpendStore())
    pipeline_cap = CALL_COST + ESTIMATE
    budget = step(services, budget_usd=pipeline_cap)
    assert (await calls_until_blocked(budget, services, {"budget": "custom:1:100"}, "a"))[0] == 3
    assert (await calls_until_blocked(budget, services, {"budget": "unlimited"}, "b"))[0] == 3
    services = Services(SpendStore())
    budget = step(services, budget_usd=100.0)
    flags = {"budget": f"custom:1:{cap(pipeline_cap)}"}
    assert (await calls_until_blocked(budget, services, flags, "c"))[0] == 3


async def test_unlimited_never_blocks_and_never_reads_the_trail() -> None:
    services = Services(SpendStore(earlier_today=1e6))
    budget = step(services, default_budget="unlimited")
    for _ in range(3):
        assert await budget.run(context({})) is None
    assert services.store.asked == []


async def test_the_default_tier_applies_without_a_flag() -> None:
    services = Services(SpendStore(earlier_today=1.98))  # dev: $0.10 per call, $2 per day
    budget = step(services, default_budget="dev")
    assert await budget.run(context({})) is None
    decision = await budget.run(context({}, max_tokens=20_000))
    assert decision is not None and "per-call budget of $0.10" in decision.reason
    await paid(budget.requests[0], 0.015)  # 1.995 + the estimate is over $2
    decision = await budget.run(context({}))
    assert decision is not None and "per day" in decision.reason
