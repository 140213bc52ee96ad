"""Heat: how much risk an agent and a session showed recently, decaying over time.

Each request with risk (`tappass.pipeline.risk`) leaves `"<epoch seconds>:<risk>"` on two
bounded lists in the shared state, one per agent and one per session (the last
`window_requests` risky requests each). Heat is the sum of those risks, each halved every
`half_life_seconds` since it happened, capped at 1. `adaptive_thresholds` reads it at the
start of a request and tightens the detection thresholds of the steps after it; with no
new findings it relaxes back to the configured baseline by itself.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tappass.pipeline.risk import request_risk

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

FACTOR_KEY = "threshold_factor"       # ctx.state: multiply detection thresholds by this
_SETTINGS_KEY = "adaptive_settings"   # ctx.state: (window, ttl) the step was configured with
_RECORDED = "adaptive_recorded"
AGENT_TTL = 7 * 86_400
AGENT_WEIGHT = 0.5                    # all an agent's sessions share its heat: it counts half


def agent_key(agent: str) -> str:
    return f"adapt:{agent}"


def session_key(ctx: Context) -> str:
    return f"s:{ctx.agent.name}:{ctx.session.id}:adapt"


def heat(entries: Sequence[str], now: float, half_life: float) -> float:
    total = 0.0
    for entry in entries:
        at, _, risk = entry.partition(":")
        try:
            age = max(0.0, now - float(at))
            total += float(risk) * 0.5 ** (age / half_life)
        except ValueError:
            continue  # not ours: ignore rather than fail the request
    return min(total, 1.0)


def tightened(ctx: Context, threshold: float) -> float:
    """`threshold` as adaptive_thresholds left it for this request (unchanged without it)."""
    factor = ctx.state.get(FACTOR_KEY)
    return threshold if factor is None else threshold * float(factor)


def configure(ctx: Context, window: int) -> None:
    ctx.state[_SETTINGS_KEY] = window


async def record_heat(ctx: Context) -> None:
    """Leave this request's risk on the agent's and the session's lists (once)."""
    if ctx.state.get(_RECORDED):
        return
    ctx.state[_RECORDED] = True
    risk = request_risk(ctx.results)
    window = ctx.state.get(_SETTINGS_KEY)
    if risk <= 0 or window is None:
        return
    entry = [f"{time.time():.3f}:{risk}"]
    kv = ctx.services.kv
    await kv.list_push(agent_key(ctx.agent.name), entry, int(window), AGENT_TTL)
    if ctx.session.supplied:
        await kv.list_push(session_key(ctx), entry, int(window), ctx.session.ttl)
