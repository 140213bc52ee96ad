"""rate_limit: the request after the last token is refused with 429 and a Retry-After."""

from __future__ import annotations

from types import SimpleNamespace

from tappass.kv import MemoryKV
from tappass.pipeline.context import Context
from tappass.pipeline.options import RateLimitOptions
from tappass.pipeline.step import Action
from tappass.pipeline.steps.rate_limit import RateLimit
from tests.storage_helpers import make_agent


def context(agent: str = "bot") -> Context:
    return Context(audit_id="ae_test", services=None, agent=make_agent(agent),  # type: ignore[arg-type]
                   pipeline=None, flags={}, session_id=None,  # type: ignore[arg-type]
                   body={"model": "m", "messages": []})


def services(rpm: int = 600) -> SimpleNamespace:
    return SimpleNamespace(kv=MemoryKV(), settings=SimpleNamespace(rate_limit_rpm=rpm))


async def test_the_third_request_at_two_per_minute_is_refused() -> None:
    step = RateLimit(RateLimitOptions(), services(rpm=2))
    assert await step.run(context()) is None
    assert await step.run(context()) is None
    decision = await step.run(context())
    assert decision is not None and decision.action is Action.BLOCK
    assert decision.status == 429
    assert decision.headers == {"Retry-After": "30"}  # one token every 30 s
    assert decision.reason == "rate limit of 2 requests per minute exceeded"
    assert await step.run(context("other-bot")) is None  # each agent has its own bucket


async def test_the_pipeline_option_overrides_the_setting() -> None:
    step = RateLimit(RateLimitOptions(requests_per_minute=1), services(rpm=600))
    assert await step.run(context()) is None
    decision = await step.run(context())
    assert decision is not None and decision.headers == {"Retry-After": "60"}
    assert decision.reason == "rate limit of 1 requests per minute exceeded"


async def test_retry_after_is_at_least_one_second() -> None:
    step = RateLimit(RateLimitOptions(requests_per_minute=120), services())  # 2 a second
    for _ in range(120):
        assert await step.run(context()) is None
    decision = await step.run(context())
    assert decision is not None and decision.headers == {"Retry-After": "1"}
