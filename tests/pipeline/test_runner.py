"""The runner: order, timing, modes (observe / enforce / off), unavailable steps, fail-closed."""

from __future__ import annotations

from typing import Any

import pytest

from tappass.errors import ProviderError, StepError
from tappass.pipeline.context import Context
from tappass.pipeline.definition import Entry, Pipeline, PipelineDefinition
from tappass.pipeline.registry import BY_ID
from tappass.pipeline.runner import run_phase
from tappass.pipeline.step import Action, Decision, Phase, Verdict
from tests.storage_helpers import make_agent


class Fixed:
    def __init__(self, decision: Decision | None = None, error: Exception | None = None) -> None:
        self.decision = decision
        self.error = error
        self.calls = 0

    async def run(self, ctx: Context) -> Decision | None:
        self.calls += 1
        if self.error:
            raise self.error
        return self.decision


def pipeline_of(*entries: tuple[str, Any]) -> Pipeline:
    definition = PipelineDefinition("test", "", {}, {p: () for p in Phase})
    phase_entries = tuple(Entry(BY_ID[step_id], Phase.BEFORE, step) for step_id, step in entries)
    return Pipeline(definition, {Phase.BEFORE: phase_entries, Phase.CALL: (), Phase.AFTER: ()})


def context(pipeline: Pipeline, mode: str) -> Context:
    return Context(audit_id="ae_test", services=None, agent=make_agent("bot"),  # type: ignore[arg-type]
                   pipeline=pipeline, flags={"mode": mode}, session_id=None,
                   body={"model": "m", "messages": [{"role": "user", "content": "hi"}]})


BLOCK = Decision(Action.BLOCK, "found something")


async def test_enforce_stops_at_the_first_block() -> None:
    later = Fixed()
    ctx = context(pipeline_of(("validate_input", Fixed()), ("detect_pii", Fixed(BLOCK)),
                              ("detect_secrets", later)), "enforce")
    block = await run_phase(ctx, Phase.BEFORE)
    assert block is not None and block.step == "detect_pii" and block.decision is BLOCK
    assert [(r.step, r.verdict) for r in ctx.results] == [
        ("validate_input", Verdict.ALLOW), ("detect_pii", Verdict.BLOCK)]
    assert later.calls == 0


async def test_observe_records_would_block_and_runs_everything() -> None:
    later = Fixed(Decision(Action.FLAG, "odd"))
    ctx = context(pipeline_of(("detect_pii", Fixed(BLOCK)), ("detect_secrets", later)), "observe")
    assert await run_phase(ctx, Phase.BEFORE) is None
    assert [(r.step, r.verdict, r.reason) for r in ctx.results] == [
        ("detect_pii", Verdict.WOULD_BLOCK, "found something"),
        ("detect_secrets", Verdict.FLAG, "odd")]
    assert [r.step for r in ctx.would_block] == ["detect_pii"]


async def test_off_skips_governance_steps_but_runs_the_call() -> None:
    pii, routing = Fixed(BLOCK), Fixed()
    ctx = context(pipeline_of(("detect_pii", pii), ("model_routing", routing)), "off")
    assert await run_phase(ctx, Phase.BEFORE) is None
    assert [(r.step, r.verdict) for r in ctx.results] == [
        ("detect_pii", Verdict.SKIPPED), ("model_routing", Verdict.ALLOW)]
    assert (pii.calls, routing.calls) == (0, 1)


@pytest.mark.parametrize("mode", ["enforce", "observe", "off"])
async def test_unavailable_steps_are_reported_never_silently_skipped(mode: str) -> None:
    ctx = context(pipeline_of(("detect_pii", None), ("validate_input", Fixed())), mode)
    await run_phase(ctx, Phase.BEFORE)
    assert ctx.results[0].step == "detect_pii"
    assert ctx.results[0].verdict is Verdict.UNAVAILABLE


@pytest.mark.parametrize("mode", ["enforce", "observe"])
async def test_a_step_that_raises_fails_the_request_closed(mode: str) -> None:
    ctx = context(pipeline_of(("detect_pii", Fixed(error=KeyError("boom")))), mode)
    with pytest.raises(StepError, match="detect_pii") as info:
        await run_phase(ctx, Phase.BEFORE)
    assert info.value.step_id == "detect_pii"
    assert ctx.results[-1].verdict is Verdict.ERROR


async def test_provider_errors_pass_through_unwrapped() -> None:
    ctx = context(pipeline_of(("llm_call", Fixed(error=ProviderError("down")))), "enforce")
    with pytest.raises(ProviderError):
        await run_phase(ctx, Phase.BEFORE)
    assert ctx.results[-1].verdict is Verdict.ERROR


async def test_every_step_is_timed() -> None:
    ctx = context(pipeline_of(("validate_input", Fixed()), ("rate_limit", Fixed())), "enforce")
    await run_phase(ctx, Phase.BEFORE)
    assert all(isinstance(r.duration_ms, float) and r.duration_ms >= 0 for r in ctx.results)
    assert ctx.results[0].as_dict()["duration_ms"] == ctx.results[0].duration_ms


async def test_require_approval_blocks_in_enforce() -> None:
    ctx = context(pipeline_of(("classify_data", Fixed(Decision(Action.REQUIRE_APPROVAL, "ok?")))),
                  "enforce")
    block = await run_phase(ctx, Phase.BEFORE)
    assert block is not None and ctx.results[0].verdict is Verdict.REQUIRE_APPROVAL
