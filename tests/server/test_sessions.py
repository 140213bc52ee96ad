"""Sessions, session budgets and loop guards through the in-process gateway."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from tappass.kv import MemoryKV, usd_units
from tappass.sessions import Session, ToolCall
from tests.conftest import ADMIN_HEADERS, Gateway, gateway_with
from tests.support.fake_upstream import free_port

# 36 characters: estimated at 10 prompt tokens, as many as the fake upstream reports, so
# with max_tokens=5 the estimate and the real cost are both $0.000075 (gpt-4o list price)
PROMPT = "what is the weather like in paris????"[:36]
CALL_COST = 0.000075


async def _overrides(gw: Gateway, agent: str, steps: dict[str, Any]) -> None:
    response = await gw.client.patch(f"/v1/agents/{agent}/pipeline", headers=ADMIN_HEADERS,
                                     json={"overrides": {"steps": steps}})
    assert response.status_code == 200, response.text


async def _priced(gw: Gateway, key: str, session: str | None = "s1") -> Any:
    headers = {"X-Session-Id": session} if session else {}
    return await gw.chat(key, PROMPT, model="gpt-4o", max_tokens=5, headers=headers)


async def test_a_new_session_id_is_returned_and_audited(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    fresh = await gateway.chat(key)
    session = fresh.headers["x-session-id"]
    assert session.startswith("ses_")
    assert (await gateway.event(fresh.headers["x-tappass-audit-id"]))["session_id"] == session
    turns = f"s:bot:{session}:turns"
    assert await gateway.services.kv.get_ints([turns]) == [0]   # one-shot: nothing kept
    again = await gateway.chat(key, headers={"X-Session-Id": session})
    assert again.headers["x-session-id"] == session
    assert await gateway.services.kv.get_ints([turns]) == [1]   # named: counted from here


async def test_an_invalid_session_id_is_refused_naming_the_header(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    for bad in ("has space", "x" * 129):
        response = await gateway.chat(key, headers={"X-Session-Id": bad})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "X-Session-Id"


async def test_session_budget_caps_spend_and_calls_per_session(proxied: Gateway) -> None:
    key = await proxied.add_agent("bot", preset="standard")
    await _overrides(proxied, "bot", {"session_budget": {"options": {"budget_usd": 0.0002}}})
    codes = [(await _priced(proxied, key)).status_code for _ in range(3)]
    assert codes == [200, 200, 403]          # 2 x 0.000075 fit; a third would be 0.000225
    blocked = await _priced(proxied, key)
    assert blocked.json()["error"]["step"] == "session_budget"
    assert "session budget of $0.0002" in blocked.json()["error"]["message"]
    assert (await _priced(proxied, key, "s2")).status_code == 200   # another session
    await _overrides(proxied, "bot", {"session_budget": {"options": {"max_calls": 1}}})
    assert (await _priced(proxied, key, "s3")).status_code == 200
    again = await _priced(proxied, key, "s3")
    assert again.status_code == 403 and "limit is 1" in again.json()["error"]["message"]


async def test_concurrent_calls_cannot_overspend_the_budget(proxied: Gateway) -> None:
    """Before the call each request reserves its estimate: 10 at once, 4 fit the cap."""
    key = await proxied.add_agent("bot", preset="standard",
                                  flags={"budget": "custom:1:0.0003"})
    responses = await asyncio.gather(*(_priced(proxied, key) for _ in range(10)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 4 + [403] * 6
    spent = await proxied.services.kv.get_ints(["s:bot:s1:spend"])
    assert spent == [4 * usd_units(CALL_COST)]


async def test_a_failed_call_releases_its_reservation() -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    async for gw in gateway_with(openai_base_url=closed, openai_api_key="sk-x",
                                 upstream_connect_timeout=0.5):
        key = await gw.add_agent("bot", preset="standard",
                                 flags={"budget": "custom:1:0.0003"})
        assert (await _priced(gw, key)).status_code in (502, 504)
        kv = gw.services.kv
        assert await kv.get_ints(["s:bot:s1:spend", "s:bot:s1:turns"]) == [0, 0]


def _tool_turn(calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather?"}]
    for call_id, args in calls:
        messages.append({"role": "assistant", "content": None, "tool_calls": [{
            "id": call_id, "type": "function",
            "function": {"name": "get_weather", "arguments": orjson.dumps(args).decode()}}]})
        messages.append({"role": "tool", "tool_call_id": call_id, "content": "sunny"})
    return messages


async def _send(gw: Gateway, key: str, messages: list[dict[str, Any]]) -> Any:
    return await gw.client.post("/v1/chat/completions", headers={
        "Authorization": f"Bearer {key}", "X-Session-Id": "loop"},
        json={"model": "tappass/echo", "messages": messages})


async def test_loop_guard_blocks_the_same_call_repeated_in_a_conversation(
        gateway: Gateway) -> None:
    key = await gateway.add_agent("bot", preset="standard")
    same = [(f"c{i}", {"city": "Paris", "unit": "C"} if i % 2 else {"unit": "C", "city": "Paris"})
            for i in range(6)]
    assert (await _send(gateway, key, _tool_turn(same[:5]))).status_code == 200
    blocked = await _send(gateway, key, _tool_turn(same))
    assert blocked.status_code == 403
    error = blocked.json()["error"]
    assert error["step"] == "loop_guard"
    assert "get_weather repeated 6 times" in error["message"]
    varied = [(f"c{i}", {"city": f"city{i}"}) for i in range(6)]
    assert (await _send(gateway, key, _tool_turn(varied))).status_code == 200


async def test_session_loop_guard_counts_each_call_once_across_requests(
        gateway: Gateway) -> None:
    key = await gateway.add_agent("bot", preset="regulated")
    await _overrides(gateway, "bot", {"session_loop_guard": {"options": {"max_repeats": 2}}})
    paris = {"city": "Paris"}
    first = [("a", paris), ("b", paris)]
    assert (await _send(gateway, key, _tool_turn(first))).status_code == 200
    # the same conversation sent again: the calls a and b are not counted twice
    assert (await _send(gateway, key, _tool_turn(first))).status_code == 200
    blocked = await _send(gateway, key, _tool_turn([*first, ("c", paris)]))
    assert blocked.status_code == 403
    assert blocked.json()["error"]["step"] == "session_loop_guard"
    assert "3 times in this session" in blocked.json()["error"]["message"]


async def test_session_api_for_other_steps() -> None:
    kv = MemoryKV()
    session = Session(kv, "bot", "s1", ttl=600)
    other_agent = Session(kv, "other", "s1", ttl=600)
    assert await session.pin_tool("send_email", "h1") == "h1"
    assert await session.pin_tool("send_email", "h2") == "h1"     # a rug pull shows
    assert await session.add_escalation(0.5) == 0.5
    await session.add_taint(["pii", "salary", "pii"])
    calls = [ToolCall("x", "search", '{"q": 1, "r": 2}'), ToolCall("y", "search", '{"r":2,"q":1}')]
    history = await session.record_tool_calls(calls)
    assert [r.digest for r in history] == [calls[0].digest] * 2
    state = await session.state()
    assert (state.tool_hashes, state.escalation, state.taint) == (
        {"send_email": "h1"}, 0.5, frozenset({"pii", "salary"}))
    assert len(state.tool_calls) == 2 and state.turns == 0
    assert (await other_agent.state()).tool_hashes == {}          # sessions are per agent


async def test_a_streamed_call_is_settled_when_the_stream_ends(proxied: Gateway) -> None:
    key = await proxied.add_agent("bot", preset="standard",
                                  flags={"budget": "custom:1:0.0003"})
    response = await proxied.chat(key, PROMPT, model="gpt-4o", max_tokens=5, stream=True,
                                  headers={"X-Session-Id": "st"})
    assert response.status_code == 200 and response.headers["x-session-id"] == "st"
    assert response.text.endswith("data: [DONE]\n\n")
    kv = proxied.services.kv
    assert await kv.get_ints(["s:bot:st:spend", "s:bot:st:turns"]) == [
        usd_units(CALL_COST), 1]


async def test_without_a_session_the_day_budget_starts_from_the_audit_trail(
        proxied: Gateway) -> None:
    key = await proxied.add_agent("bot", preset="standard",
                                  flags={"budget": "custom:1:0.0002"})
    assert [(await _priced(proxied, key, None)).status_code for _ in range(2)] == [200, 200]
    proxied.services.kv = MemoryKV()   # a worker (or a Redis) that has not counted today yet
    blocked = await _priced(proxied, key, None)
    assert blocked.status_code == 403
    assert "per day (spent $0.00015)" in blocked.json()["error"]["message"]
