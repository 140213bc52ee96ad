"""llm_call: sends the governed request to the provider (or opens the stream).

When streaming, the gateway always asks the upstream for the usage chunk so cost is
tracked; the server drops that chunk again if the agent did not ask for it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import NoOptions

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class LlmCall:
    id = "llm_call"

    Options = NoOptions

    def __init__(self, options: NoOptions, services: Any) -> None:
        self._providers = services.providers

    async def run(self, ctx: Context) -> None:
        if ctx.provider is None:  # model_routing disabled: route by the requested model
            ctx.provider, ctx.upstream_model = self._providers.route(ctx.model)
        body = ctx.body
        if ctx.upstream_model != ctx.model:
            body = {**body, "model": ctx.upstream_model}
        start = time.perf_counter()
        if ctx.stream:
            body = {**body, "stream_options": {**(body.get("stream_options") or {}),
                                               "include_usage": True}}
            ctx.chunks = await ctx.provider.open_stream(body)
        else:
            ctx.response, ctx.response_bytes = await ctx.provider.complete(body)
            usage = ctx.response.get("usage")
            ctx.usage = usage if isinstance(usage, dict) else None
        ctx.upstream_ms = round((time.perf_counter() - start) * 1000, 3)
        return None
