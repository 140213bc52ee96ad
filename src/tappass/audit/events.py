"""The audit event: one per request, allowed, blocked or failed.

It records who, what model, which pipeline and flags (and `loosened_flags`: those the
request set looser than the agent's configuration, where its admin allows it), every step's
verdict and `duration_ms`, usage, cost and latency. It never holds prompt or answer text,
PII or secrets: findings carry types, spans and scores only.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tappass.policy.flags import loosened_flags

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def utc_now_iso() -> str:
    """Now, UTC, as "2026-12-01T04:13:58.123456Z" (microseconds truncated, as `datetime.now`
    does); the date and time of day are formatted once per second (one per audit event)."""
    global _second
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    if seconds != _second[0]:
        _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{_second[1]}.{nanoseconds // 1000:06d}Z"


def _loosened(ctx: Context) -> list[str]:
    """The request flags looser than pipeline defaults < agent flags (what the admin set)."""
    base = {**ctx.pipeline.definition.defaults, **ctx.agent.flags}
    if ctx.flags == base:
        return []
    default_budget = None
    if "budget" in ctx.flags and "budget" not in base:
        default_budget = ctx.pipeline.default_budget()
    return loosened_flags(base, ctx.flags, default_budget=default_budget)


def event_from_context(ctx: Context, *, status: str, http_status: int,
                       blocked_by: str | None = None, reason: str | None = None,
                       error: str | None = None) -> dict[str, Any]:
    total_ms = round((time.perf_counter() - ctx.started) * 1000, 3)
    would_block = [{"step": r.step, "phase": r.phase.value, "reason": r.reason}
                   for r in ctx.would_block]
    return {
        "id": ctx.audit_id,
        "timestamp": utc_now_iso(),
        "agent": ctx.agent.name,
        "agent_id": ctx.agent.id,
        "status": status,
        "blocked": status == "blocked",
        "http_status": http_status,
        "blocked_by": blocked_by,
        "reason": reason,
        "error": error,
        "model": ctx.model,
        "provider": ctx.provider.name if ctx.provider else None,
        "upstream_model": ctx.upstream_model,
        "pipeline": ctx.pipeline.name,
        "mode": ctx.mode,
        "flags": ctx.flags,
        "loosened_flags": _loosened(ctx),
        "session_id": ctx.session_id,
        "stream": ctx.stream,
        "classification": ctx.classification,
        "request": {"messages": len(ctx.body.get("messages", ())),
                    "tools": len(ctx.body.get("tools") or ())},
        "steps": [r.as_dict() for r in ctx.results],
        "would_block": would_block,
        "usage": ctx.usage,
        "cost_usd": ctx.cost_usd,
        "latency_ms": {"total": total_ms, "upstream": ctx.upstream_ms,
                       "gateway": round(total_ms - (ctx.upstream_ms or 0.0), 3)},
    }


def bare_event(audit_id: str, *, agent: str | None, agent_id: str | None, status: str,
               http_status: int, reason: str, model: str | None = None,
               blocked_by: str | None = None) -> dict[str, Any]:
    """An event for a request that never reached the pipeline (e.g. a disabled agent).

    Same keys as `event_from_context`; what was never decided is None or empty.
    """
    return {"id": audit_id, "timestamp": utc_now_iso(), "agent": agent, "agent_id": agent_id,
            "status": status, "blocked": status == "blocked", "http_status": http_status,
            "blocked_by": blocked_by, "reason": reason, "error": None, "model": model,
            "provider": None, "upstream_model": None, "pipeline": None, "mode": None,
            "flags": {}, "loosened_flags": [], "session_id": None, "stream": None,
            "classification": None, "request": None, "steps": [], "would_block": [],
            "usage": None, "cost_usd": None, "latency_ms": None}
