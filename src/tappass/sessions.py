"""Sessions: what one agent's conversation has done so far, shared by every worker.

A request belongs to the session named by its `X-Session-Id` header; without one the
gateway starts a new session and returns its id in the `X-Session-Id` response header, so
the agent can send it back. Session state lives in the key-value layer (`tappass.kv`:
Redis when `TAPPASS_KV_URL` is set) and expires `TAPPASS_SESSION_TTL` seconds after its
last change. Sessions are per agent: two agents using the same id do not share state.

Steps use the request's session as `ctx.session` (every method is one atomic operation):

    state = await ctx.session.state()        # SessionState snapshot (see below)
    history = await ctx.session.record_tool_calls(calls)   # ToolCall(id, name, arguments)
    pinned = await ctx.session.pin_tool("send_email", sha256_hex)  # first digest wins
    score = await ctx.session.add_escalation(0.2)           # returns the new total
    await ctx.session.add_taint({"pii", "salary"})

`turns` (calls sent upstream) and `cost_usd` (spent plus reserved by calls in flight) are
kept by the budget accounting (`tappass.spend`); steps only read them. For a session the
gateway started they count from the first request that names it (unless `session_budget`
caps it), so one-shot requests leave no counters behind.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from tappass import keys
from tappass.kv import KV, units_usd
from tappass.server.request_headers import check_session_id

HISTORY_MAX = 200   # tool calls kept per session (the most recent)


def session_id_from(header: str | None) -> str | None:
    """The caller's session id, or None for no (or an empty) header; RequestError names the
    header when it is out of bounds (the one rule: `request_headers.check_session_id`)."""
    return check_session_id(header) if header else None


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str

    @property
    def digest(self) -> str:
        """Same name and same arguments (key order ignored) -> same digest."""
        try:
            args = orjson.dumps(orjson.loads(self.arguments), option=orjson.OPT_SORT_KEYS)
        except orjson.JSONDecodeError:
            args = self.arguments.encode()
        return hashlib.sha256(self.name.encode() + b"\0" + args).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    at: float        # epoch seconds when the gateway first saw the call
    name: str
    digest: str


@dataclass(frozen=True, slots=True)
class SessionState:
    id: str
    turns: int
    cost_usd: float
    tool_calls: tuple[ToolCallRecord, ...]
    tool_hashes: dict[str, str]
    escalation: float
    taint: frozenset[str]


class Session:
    __slots__ = ("id", "supplied", "_kv", "_ttl", "_base")

    def __init__(self, kv: KV, agent: str, session_id: str | None, ttl: int) -> None:
        self.id = session_id or keys.new_id("ses")
        self.supplied = session_id is not None   # False: started by this request
        self._kv = kv
        self._ttl = ttl
        self._base = f"s:{agent}:{self.id}"

    @property
    def ttl(self) -> int:
        return self._ttl

    @property
    def spend_key(self) -> str:
        return f"{self._base}:spend"

    @property
    def turns_key(self) -> str:
        return f"{self._base}:turns"

    async def state(self) -> SessionState:
        kv, base = self._kv, self._base
        spend, turns = await kv.get_ints([self.spend_key, self.turns_key])
        scores = await kv.hash_get(f"{base}:state")
        return SessionState(
            id=self.id, turns=turns, cost_usd=units_usd(spend),
            tool_calls=_records(await kv.list_get(f"{base}:calls")),
            tool_hashes=await kv.hash_get(f"{base}:tools"),
            escalation=float(scores.get("escalation", 0.0)),
            taint=frozenset(await kv.set_members(f"{base}:taint")))

    async def record_tool_calls(self, calls: Sequence[ToolCall]) -> tuple[ToolCallRecord, ...]:
        """Add the calls not seen before (by id) to the history; the history afterwards.

        Agents resend the whole conversation each turn: a call is recorded once, when the
        gateway first sees its id."""
        new: list[str] = []
        if calls:
            fresh = await self._kv.set_add(f"{self._base}:seen", [c.id for c in calls],
                                           self._ttl)
            now = round(time.time(), 3)
            new = [orjson.dumps({"at": now, "name": c.name, "digest": c.digest}).decode()
                   for c, is_new in zip(calls, fresh, strict=True) if is_new]
        return _records(await self._kv.list_push(f"{self._base}:calls", new, HISTORY_MAX,
                                                 self._ttl))

    async def pin_tool(self, name: str, digest: str) -> str:
        """Pin the tool definition's digest on first sight; the pinned digest."""
        return await self._kv.hash_set_new(f"{self._base}:tools", name, digest, self._ttl)

    async def escalation(self) -> float:
        scores = await self._kv.hash_get(f"{self._base}:state")
        return float(scores.get("escalation", 0.0))

    async def mark_escalated(self, request_id: str) -> bool:
        """Record the request that escalated the session; True for the first one only."""
        first = await self._kv.hash_set_new(f"{self._base}:state", "escalated_by",
                                            request_id, self._ttl)
        return first == request_id

    async def add_escalation(self, amount: float) -> float:
        return await self._kv.hash_incr_float(f"{self._base}:state", "escalation", amount,
                                              self._ttl)

    async def remember_answers(self, digests: Sequence[str], window: int) -> set[str]:
        """The digests of the session's last `window` answers; then add these ones."""
        key = f"{self._base}:answers"
        earlier = set((await self._kv.list_get(key))[-window:])
        await self._kv.list_push(key, list(digests), window, self._ttl)
        return earlier

    async def taint(self) -> frozenset[str]:
        return frozenset(await self._kv.set_members(f"{self._base}:taint"))

    async def add_taint(self, labels: Iterable[str]) -> None:
        members = sorted(set(labels))
        if members:
            await self._kv.set_add(f"{self._base}:taint", members, self._ttl)


def _records(entries: Sequence[str]) -> tuple[ToolCallRecord, ...]:
    out = []
    for entry in entries:
        data = orjson.loads(entry)
        out.append(ToolCallRecord(float(data["at"]), str(data["name"]), str(data["digest"])))
    return tuple(out)
