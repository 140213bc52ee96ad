"""The end of a request: what it cost and how risky it was, onto the shared counters.

`finish_request` runs once per request, whatever its outcome (answered, blocked, failed, a
stream completed or cut): it settles the spend (`tappass.spend`) and, when the agent's
pipeline has the steps that use it, adds the request's risk (`tappass.pipeline.risk`) to
the session's escalation total (`session_escalation`, which also adds it itself when it
runs, once) and to the agent's and session's recent heat (`adaptive_thresholds`). Neither
may turn an answered request into a failure: errors are logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tappass.pipeline.adaptive import record_heat
from tappass.pipeline.steps.session_escalation import add_request_risk
from tappass.spend import settle_request

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

log = logging.getLogger("tappass.outcome")


async def finish_request(ctx: Context) -> None:
    await settle_request(ctx)
    try:
        steps = ctx.pipeline.available_ids
        if "session_escalation" in steps:
            await add_request_risk(ctx, total_needed=False)
        if "adaptive_thresholds" in steps:
            await record_heat(ctx)
    except Exception:  # shared state down: the request is answered already
        log.exception("request %s: recording its risk failed", ctx.audit_id)
