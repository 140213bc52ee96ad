"""classify_data: PUBLIC .. TOP_SECRET for the request, from what the detectors found.

The level is the highest of: the step's `default_level`; every finding the data-detection
steps recorded earlier in this phase (see `tappass.policy.classification` for the table;
a step's allowlists and thresholds therefore apply, and nothing is scanned twice); and the
step's `custom_patterns`, matched over the shared scan, each at its own `level` (seed 003).
It is set on `ctx.classification`, so it is in the `X-TapPass-Classification` header and
the audit event; run again after the call, it can only raise the level.

`policy.require_human_approval` (seed 002: `- classification: RESTRICTED`) lists the levels
that need a person's approval. A request at such a level gets a `require_approval`
decision: with mode=enforce it is refused (403) and recorded as `require_approval`, since
this version has no approval queue to hold it in; with mode=observe it is recorded as
`would_block` and goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import ClassifyOptions
from tappass.pipeline.step import Action, Decision, Finding, Phase
from tappass.pipeline.steps._data_detection import answer_scan, custom_detector
from tappass.policy.classification import RANK, highest, level_of

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class ClassifyData:
    id = "classify_data"

    Options = ClassifyOptions

    def __init__(self, options: ClassifyOptions, services: Any) -> None:
        self.options = options
        self._custom = custom_detector(options.custom_patterns)
        self._custom_name = f"classify_data.custom.{id(self)}"
        self._custom_level = {p.name.upper(): p.level for p in options.custom_patterns}

    async def run(self, ctx: Context) -> Decision | None:
        phase = Phase.AFTER if ctx.response is not None or ctx.chunks is not None else Phase.BEFORE
        found = self._custom_findings(ctx, phase)
        levels: list[str] = [self._custom_level[f.type] for f in found]
        because: dict[str, str] = {f.type: self._custom_level[f.type] for f in found}
        for result in ctx.results:
            if result.phase is not phase:
                continue
            for finding in result.findings:
                level = level_of(result.step, finding.type)
                if level is not None:
                    levels.append(level)
                    because.setdefault(finding.type, level)
        level = highest(levels, self.options.default_level)
        if ctx.classification is not None:
            level = highest([level], ctx.classification)
        ctx.classification = level
        reason = _reason(level, because)
        needs = _approval_levels(ctx)
        if level in needs:
            return Decision(Action.REQUIRE_APPROVAL, f"{reason}; policy.require_human_approval "
                            f"lists {level}: human approval is not available in this version, "
                            "so the request is refused", found)
        return Decision(Action.ALLOW, reason, found)

    def _custom_findings(self, ctx: Context, phase: Phase) -> tuple[Finding, ...]:
        if self._custom is None:
            return ()
        scan = answer_scan(ctx) if phase is Phase.AFTER else ctx.request_scan()
        if scan is None:
            return ()
        return tuple(f for per_text in scan.findings(self._custom_name, self._custom)
                     for f in per_text)


def _reason(level: str, because: dict[str, str]) -> str:
    top = sorted(t for t, lvl in because.items() if RANK[lvl] == RANK[level])
    return f"classified {level}" + (f" ({', '.join(top)})" if top else "")


def _approval_levels(ctx: Context) -> frozenset[str]:
    rules = ctx.pipeline.definition.policy.get("require_human_approval") or ()
    return frozenset(rule["classification"] for rule in rules if isinstance(rule, dict))
