"""Every step outcome carries the step's real duration, not a placeholder (issue 20)."""

from __future__ import annotations

import asyncio

import pytest

from tappass.errors import ProviderError, StepError
from tappass.pipeline.context import Context
from tappass.pipeline.runner import run_phase
from tappass.pipeline.step import Action, Decision, Phase, Verdict
from tests.pipeline.test_runner import context, pipeline_of

SLEEP_S = 0.02


class Sleeper:
    """Sleeps, then answers with a decision or raises."""

    def __init__(self, decision: Decision | None = None,
                 error: Exception | None = None) -> None:
        self.decision = decision
        self.error = error

    async def run(self, ctx: Context) -> Decision | None:
        await asyncio.sleep(SLEEP_S)
        if self.error:
            raise self.error
        return self.decision


BLOCK = Decision(Action.BLOCK, "no")


@pytest.mark.parametrize("step, mode, verdict", [
    (Sleeper(), "enforce", Verdict.ALLOW),
    (Sleeper(BLOCK), "enforce", Verdict.BLOCK),
    (Sleeper(BLOCK), "observe", Verdict.WOULD_BLOCK),
    (Sleeper(Decision(Action.FLAG, "odd")), "enforce", Verdict.FLAG),
    (Sleeper(error=KeyError("boom")), "enforce", Verdict.ERROR),
    (Sleeper(error=ProviderError("down")), "enforce", Verdict.ERROR),
])
async def test_duration_is_at_least_the_time_the_step_took(step: Sleeper, mode: str,
                                                           verdict: Verdict) -> None:
    ctx = context(pipeline_of(("detect_pii", step)), mode)
    try:
        await run_phase(ctx, Phase.BEFORE)
    except (StepError, ProviderError):
        pass
    [result] = ctx.results
    assert result.verdict is verdict
    assert result.duration_ms >= SLEEP_S * 1000
    assert result.duration_ms < 60_000  # milliseconds, not microseconds
