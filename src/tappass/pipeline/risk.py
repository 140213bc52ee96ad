"""How risky one request was, from what its detection steps decided.

A threat step (threat detection, response safety, tool scanning) that blocks, or would
block in observe mode, counts half its highest finding score (1.0 without findings); one
that flags counts a quarter. A data-protection step counts a quarter of its score only when
it blocks: masking personal data or noting a place name is ordinary business, not an
attack. Access control (rate limits, budgets, tool allowlists) and the steps that act on
risk itself count nothing. The request's risk is the largest of those, in [0, 0.5], so one
request counts once however many steps saw it. `session_escalation` and
`adaptive_thresholds` both add it up, over a session and over an agent's recent requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from tappass.pipeline.registry import BY_ID
from tappass.pipeline.step import Category, Verdict

if TYPE_CHECKING:
    from tappass.pipeline.context import StepResult

_THREATS = frozenset({Category.THREAT_DETECTION, Category.RESPONSE_SAFETY})
_THREAT_STEPS = frozenset({"tool_call_scan", "tool_poisoning_detection"})
_NOT_RISK = frozenset({"session_escalation", "adaptive_thresholds"})
_BLOCKS = frozenset({Verdict.BLOCK, Verdict.WOULD_BLOCK, Verdict.REQUIRE_APPROVAL})


def request_risk(results: Iterable[StepResult]) -> float:
    """The risk one request adds to its session and its agent, in [0, 0.5]."""
    risk = 0.0
    for result in results:
        weight = _weight(result)
        if weight and (result.findings or result.verdict is not Verdict.FLAG):
            # a flag with no finding is a note ("streamed answer not checked"), not a hit
            score = max((f.score for f in result.findings), default=1.0)
            risk = max(risk, weight * min(score, 1.0))
    return round(risk, 4)


def _weight(result: StepResult) -> float:
    spec = BY_ID.get(result.step)
    if spec is None or spec.id in _NOT_RISK:
        return 0.0
    blocks = result.verdict in _BLOCKS
    if spec.category in _THREATS or spec.id in _THREAT_STEPS:
        return 0.5 if blocks else 0.25 if result.verdict is Verdict.FLAG else 0.0
    if spec.category is Category.DATA_PROTECTION and blocks:
        return 0.25
    return 0.0
