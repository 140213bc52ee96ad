"""cost_tracking: records tokens and USD cost of the call from the provider's usage.

The cost is settled on the shared spend counters at once (see `tappass.spend`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import CostTrackingOptions
from tappass.providers.pricing import cost_usd
from tappass.spend import settle_request

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class CostTracking:
    id = "cost_tracking"

    Options = CostTrackingOptions

    def __init__(self, options: CostTrackingOptions, services: Any) -> None:
        self._prices = options.prices or None

    async def run(self, ctx: Context) -> None:
        usage = ctx.usage
        if not usage:
            return None
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        cost = cost_usd(ctx.upstream_model or ctx.model, prompt, completion, self._prices)
        if cost is None and ctx.upstream_model != ctx.model:
            cost = cost_usd(ctx.model, prompt, completion, self._prices)
        ctx.cost_usd = cost
        await settle_request(ctx)
        return None
