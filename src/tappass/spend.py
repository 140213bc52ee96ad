"""Budget accounting that holds across workers: reserve before the call, settle after.

A step that caps spend (or calls) reserves the call's *estimate* on the shared counters
before the call is sent, atomically with the check against its cap, so concurrent requests
cannot all pass a check that only one of them fits. When the request ends, `settle`
replaces what it reserved with what it really cost (or releases it when no call was
made), and adds the cost to every counter the request belongs to: the agent's UTC day,
and its session (`cost_usd`, `turns`).

The per-request ledger is `ctx.ledger`; the day counter starts from the audit trail's
total for the day (loaded by the first worker that needs it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tappass.kv import KV, Counter, Delta, KVUnavailable, Reserved, usd_units

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

log = logging.getLogger("tappass.spend")
DAY_TTL = 2 * 86_400


def day_key(agent: str) -> str:
    return f"spend:day:{agent}:{int(time.time() // 86_400)}"


class Ledger:
    """What one request has reserved, and on which backend (to settle it there)."""

    __slots__ = ("_kv", "_held", "settled")

    def __init__(self, kv: KV) -> None:
        self._kv = kv
        self._held: dict[str, tuple[KV, int, int]] = {}   # key -> (backend, units, ttl)
        self.settled = False

    def held(self, key: str) -> int:
        entry = self._held.get(key)
        return entry[1] if entry else 0

    async def reserve(self, counters: Sequence[Counter],
                      seed: Callable[[str], Awaitable[int]] | None = None) -> Reserved:
        """Reserve every counter or none. A counter this request already holds is checked
        against its cap again without adding (its amount counts once). `seed(key)` supplies
        the start of a counter created with `seed=None`."""
        counters = [Counter(c.key, 0, c.ttl, c.cap, c.seed) if c.key in self._held else c
                    for c in counters]
        result = await self._kv.reserve(counters)
        if result.status == "unseeded" and seed is not None:
            missing = counters[result.index]
            start = await seed(missing.key)
            counters[result.index] = Counter(missing.key, missing.amount, missing.ttl,
                                             missing.cap, start)
            result = await self._kv.reserve(counters)
        if result.status == "ok" and result.backend is not None:
            for c in counters:
                if c.amount:
                    self._held[c.key] = (result.backend, self.held(c.key) + c.amount, c.ttl)
        return result

    async def settle(self, actual: Sequence[Delta]) -> None:
        """Replace the reservations with the real amounts (once); errors are logged."""
        if self.settled:
            return
        self.settled = True
        held = self._held
        groups: dict[int, tuple[KV, list[Delta]]] = {}  # by backend, in order of first use
        for delta in actual:
            backend, units, _ = held.pop(delta.key, (self._kv, 0, 0))
            if delta.amount != units:
                change = Delta(delta.key, delta.amount - units, delta.ttl,
                               delta.create or units > 0)
                groups.setdefault(id(backend), (backend, []))[1].append(change)
        for key, (backend, units, ttl) in held.items():   # held, not in `actual`
            groups.setdefault(id(backend), (backend, []))[1].append(Delta(key, -units, ttl, False))
        held.clear()
        for backend, deltas in groups.values():
            try:
                await backend.adjust(deltas)
            except KVUnavailable as exc:  # what stays reserved only makes budgets stricter
                log.info("settling spend failed (%s); the reservation stays counted", exc)


async def settle_request(ctx: Context) -> None:
    """At the end of a request: its real cost and call onto the shared counters.

    When a call was made but its cost is unknown (a stream cut before its usage), the
    estimate reserved for it stays counted."""
    ledger = ctx.ledger
    if ledger.settled:
        return
    session = ctx.session
    called = ctx.upstream_ms is not None or ctx.usage is not None
    day, spend = day_key(ctx.agent.name), session.spend_key
    if ctx.cost_usd is not None:
        cost = usd_units(ctx.cost_usd)
    elif called:
        cost = max(ledger.held(day), ledger.held(spend))
    else:
        cost = 0
    deltas = [Delta(day, cost, DAY_TTL, create=False)]
    # a session the gateway started is counted once the agent names it (or a step reserved
    # on it): one-shot requests must not leave two keys each behind
    turns = session.turns_key
    if session.supplied or ledger.held(spend) or ledger.held(turns):
        deltas += [Delta(spend, cost, session.ttl), Delta(turns, int(called), session.ttl)]
    try:
        await ledger.settle(deltas)
    except Exception:  # accounting must never turn an answered request into a failure
        log.exception("settling the spend of %s failed", ctx.audit_id)


def utc_day_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
