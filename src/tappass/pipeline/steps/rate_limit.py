"""rate_limit: limits how many requests an agent makes per minute (token bucket).

The bucket is in the key-value layer, so with Redis every worker draws from the same one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import RateLimitOptions
from tappass.pipeline.step import Action, Decision

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class RateLimit:
    id = "rate_limit"

    Options = RateLimitOptions

    def __init__(self, options: RateLimitOptions, services: Any) -> None:
        self._kv = services.kv
        self._rpm = options.requests_per_minute or services.settings.rate_limit_rpm

    async def run(self, ctx: Context) -> Decision | None:
        wait = await self._kv.take_token(f"rl:{ctx.agent.name}:{self._rpm}", self._rpm)
        if wait == 0.0:
            return None
        retry = max(1, math.ceil(wait))
        return Decision(Action.BLOCK, f"rate limit of {self._rpm} requests per minute exceeded",
                        status=429, headers={"Retry-After": str(retry)})
