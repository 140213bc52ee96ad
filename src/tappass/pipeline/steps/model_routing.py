"""model_routing: chooses the provider and upstream model for the request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import ModelRoutingOptions

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class ModelRouting:
    id = "model_routing"

    Options = ModelRoutingOptions

    def __init__(self, options: ModelRoutingOptions, services: Any) -> None:
        self._aliases = options.aliases
        self._providers = services.providers

    async def run(self, ctx: Context) -> None:
        model = self._aliases.get(ctx.model, ctx.model)
        ctx.provider, ctx.upstream_model = self._providers.route(model)
        return None
