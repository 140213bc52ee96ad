"""debug_logging: logs one line of request metadata per call (never prompt or answer text)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import DebugLoggingOptions

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

log = logging.getLogger("tappass.debug")


class DebugLogging:
    id = "debug_logging"

    Options = DebugLoggingOptions

    def __init__(self, options: DebugLoggingOptions, services: Any) -> None:
        self._level = logging.DEBUG if options.level == "debug" else logging.INFO

    async def run(self, ctx: Context) -> None:
        if not log.isEnabledFor(self._level):
            return None
        elapsed = (time.perf_counter() - ctx.started) * 1000
        verdicts = " ".join(f"{r.step}={r.verdict.value}" for r in ctx.results)
        log.log(self._level, "audit_id=%s agent=%s model=%s provider=%s mode=%s "
                "elapsed_ms=%.2f upstream_ms=%s usage=%s steps=[%s]", ctx.audit_id,
                ctx.agent.name, ctx.model, ctx.provider.name if ctx.provider else None,
                ctx.mode, elapsed, ctx.upstream_ms, ctx.usage, verdicts)
        return None
