"""Runs one phase of a compiled pipeline over a request context.

Order is the preset's order. Each step is timed. What a decision does depends on the mode:
enforce stops at the first blocking decision, observe records it as `would_block` and goes
on, off skips governance steps (the call and its accounting still run). A registered step
with no implementation is recorded as `unavailable`, never silently skipped. A step that
raises fails the request closed with StepError; provider failures pass through as
ProviderError so the server can answer 502/504. The steps that governed a streamed answer
as it passed are not run again at its end: their outcome over the stream is recorded in
their place (`streamed`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from tappass.errors import ProviderError, StepError
from tappass.pipeline.context import Context, StepResult
from tappass.pipeline.step import Action, Decision, Phase, Verdict

_perf = time.perf_counter


@dataclass(frozen=True, slots=True)
class Block:
    step: str
    decision: Decision


def _ms(start: float) -> float:
    return round((_perf() - start) * 1000, 3)


async def run_phase(ctx: Context, phase: Phase,
                    streamed: Mapping[str, StepResult] | None = None) -> Block | None:
    """Run the steps of `phase`; return the enforced block, if any."""
    record = ctx.results.append
    mode_off = ctx.mode == "off"
    enforce = ctx.mode == "enforce"
    for entry in ctx.pipeline.phases[phase]:
        spec = entry.spec
        if entry.step is None:
            record(StepResult(spec.id, phase, Verdict.UNAVAILABLE, 0.0,
                              "implementation not available in this version"))
            continue
        if mode_off and spec.governance:
            record(StepResult(spec.id, phase, Verdict.SKIPPED, 0.0, "mode=off"))
            continue
        if streamed and spec.id in streamed:
            result = streamed[spec.id]
            record(result)
            if result.verdict is Verdict.BLOCK:
                return Block(spec.id, Decision(Action.BLOCK, result.reason, result.findings))
            continue
        start = _perf()
        try:
            decision = await entry.step.run(ctx)
        except ProviderError:
            record(StepResult(spec.id, phase, Verdict.ERROR, _ms(start), "provider error"))
            raise
        except Exception as exc:  # a broken step denies the request (fail closed)
            record(StepResult(spec.id, phase, Verdict.ERROR, _ms(start), type(exc).__name__))
            raise StepError(spec.id, f"{type(exc).__name__}: {exc}") from exc
        if decision is None:
            record(StepResult(spec.id, phase, Verdict.ALLOW, _ms(start)))
            continue
        if decision.blocks and not enforce:
            record(StepResult(spec.id, phase, Verdict.WOULD_BLOCK, _ms(start),
                              decision.reason, decision.findings))
            continue
        record(StepResult(spec.id, phase, Verdict(decision.action.value), _ms(start),
                          decision.reason, decision.findings))
        if decision.blocks:
            return Block(spec.id, decision)
    return None
