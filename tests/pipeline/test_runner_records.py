"""What the runner records for each outcome: step, verdict, reason and findings (issue 20)."""

from __future__ import annotations

import pytest

from tappass.errors import ProviderError, StepError
from tappass.pipeline.context import StepResult
from tappass.pipeline.runner import run_phase
from tappass.pipeline.step import Action, Decision, Finding, Phase, Verdict
from tests.pipeline.test_runner import Fixed, context, pipeline_of

FINDINGS = (Finding("email", 0, 5, 0.9, "an address"),)


def timeless(result: StepResult) -> tuple[object, ...]:
    return (result.step, result.phase, result.verdict, result.reason, result.findings)


async def test_unavailable_and_skipped_steps_take_no_time_and_say_why() -> None:
    ctx = context(pipeline_of(("detect_pii", None), ("detect_secrets", Fixed())), "off")
    await run_phase(ctx, Phase.BEFORE)
    assert ctx.results == [
        StepResult("detect_pii", Phase.BEFORE, Verdict.UNAVAILABLE, 0.0,
                   "implementation not available in this version"),
        StepResult("detect_secrets", Phase.BEFORE, Verdict.SKIPPED, 0.0, "mode=off")]


async def test_errors_are_recorded_against_the_step() -> None:
    ctx = context(pipeline_of(("llm_call", Fixed(error=ProviderError("down")))), "enforce")
    with pytest.raises(ProviderError):
        await run_phase(ctx, Phase.BEFORE)
    assert timeless(ctx.results[0]) == ("llm_call", Phase.BEFORE, Verdict.ERROR,
                                        "provider error", ())
    ctx = context(pipeline_of(("detect_pii", Fixed(error=KeyError("x")))), "enforce")
    with pytest.raises(StepError) as info:
        await run_phase(ctx, Phase.BEFORE)
    assert str(info.value) == "step detect_pii failed: KeyError: 'x'"
    assert timeless(ctx.results[0]) == ("detect_pii", Phase.BEFORE, Verdict.ERROR,
                                        "KeyError", ())


@pytest.mark.parametrize("mode, verdict", [("enforce", Verdict.BLOCK),
                                           ("observe", Verdict.WOULD_BLOCK)])
async def test_blocking_decisions_keep_their_reason_and_findings(mode: str,
                                                                 verdict: Verdict) -> None:
    decision = Decision(Action.BLOCK, "personal data", FINDINGS)
    ctx = context(pipeline_of(("detect_pii", Fixed(decision))), mode)
    await run_phase(ctx, Phase.BEFORE)
    assert timeless(ctx.results[0]) == ("detect_pii", Phase.BEFORE, verdict,
                                        "personal data", FINDINGS)


async def test_flags_keep_their_findings_and_do_not_block() -> None:
    later = Fixed()
    ctx = context(pipeline_of(("detect_pii", Fixed(Decision(Action.FLAG, "odd", FINDINGS))),
                              ("detect_secrets", later)), "enforce")
    assert await run_phase(ctx, Phase.BEFORE) is None
    assert timeless(ctx.results[0]) == ("detect_pii", Phase.BEFORE, Verdict.FLAG, "odd",
                                        FINDINGS)
    assert later.calls == 1
