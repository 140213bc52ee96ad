"""A stream that fails or is blocked inside the gateway, seen by the official `openai` SDK.

The contract (issue 20): such a stream ends with an SSE `data: {"error": {...}}` event,
which the SDK raises as `openai.APIError` carrying the message, and never with `[DONE]`.
The gateway runs in-process; its upstream is the local fake over real HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import openai
import orjson
import pytest

from tests.conftest import ADMIN_HEADERS, Gateway
from tests.support.steps import WITHHELD, BlockAnswer, Broken, implemented

MESSAGES: Any = [{"role": "user", "content": "tell me"}]


@pytest.fixture
async def sdk_for(proxied: Gateway) -> AsyncIterator[Any]:
    clients: list[httpx2.AsyncClient] = []

    def make(key: str) -> openai.AsyncOpenAI:
        http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=proxied.app))
        clients.append(http)
        return openai.AsyncOpenAI(base_url="http://gw/v1", api_key=key, max_retries=0,
                                  http_client=http)

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
def output_scan_blocks() -> Iterator[None]:
    with implemented("output_scan", BlockAnswer):  # before the gateway compiles pipelines
        yield


@pytest.fixture
def output_scan_breaks() -> Iterator[None]:
    with implemented("output_scan", Broken):
        yield


async def consume(sdk: openai.AsyncOpenAI, model: str = "gpt-4o") -> tuple[str, Exception]:
    """The text streamed before the SDK raised, and what it raised."""
    stream = await sdk.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    text = ""
    with pytest.raises(openai.APIError) as info:
        async for chunk in stream:
            text += "".join(c.delta.content or "" for c in chunk.choices)
    return text, info.value


async def raw_events(gw: Gateway, key: str, model: str = "gpt-4o") -> list[str]:
    response = await gw.chat(key, "tell me", model=model, stream=True)
    assert response.status_code == 200
    return [e for e in response.text.split("\n\n") if e]


def final_error(events: list[str]) -> dict[str, Any]:
    assert not any(e.strip() == "data: [DONE]" for e in events)
    last = events[-1]
    assert last.startswith("data: ")
    body = orjson.loads(last.removeprefix("data: "))
    assert set(body) == {"error"}
    return dict(body["error"])


async def last_event(gw: Gateway) -> dict[str, Any]:
    response = await gw.client.get("/v1/audit?limit=1", headers=ADMIN_HEADERS)
    return dict(response.json()["data"][0])


async def one_event_per_request(gw: Gateway, requests: int) -> None:
    """Each request left exactly one audit event, and no second write was attempted."""
    await asyncio.sleep(0.05)  # a stray background write would have happened by now
    response = await gw.client.get("/v1/audit?agent=bot&limit=100", headers=ADMIN_HEADERS)
    assert response.json()["count"] == requests
    assert gw.services.audit.failed == 0


async def test_upstream_cut_mid_stream_raises_api_error_never_done(proxied: Gateway,
                                                                   sdk_for: Any) -> None:
    key = await proxied.add_agent()
    text, error = await consume(sdk_for(key), "cut-stream")
    # what aiohttp hands over before the cut is forwarded; it may drop bytes that arrived
    # together with the cut, so only a prefix of the answer is certain
    assert "upstream says: tell me".startswith(text)
    assert "provider 'openai' broke the stream" in error.message
    error_body = final_error(await raw_events(proxied, key, "cut-stream"))
    assert (error_body["type"], error_body["code"], error_body["retryable"]) == (
        "upstream_error", "upstream_error", True)
    assert "broke the stream" in error_body["message"]
    assert "127.0.0.1" not in error_body["message"]  # the upstream's address is for admins
    event = await last_event(proxied)
    assert (event["id"], event["status"], event["http_status"]) == (
        error_body["audit_id"], "failed", 502)
    assert event["reason"] == error_body["message"]  # what the agent was told
    assert "ClientPayloadError" in event["error"]     # and why, for the admin
    await one_event_per_request(proxied, 2)


async def test_block_after_the_answer_streamed_raises_api_error_never_done(
        output_scan_blocks: None, proxied: Gateway, sdk_for: Any) -> None:
    key = await proxied.add_agent(preset="standard")
    _, error = await consume(sdk_for(key))
    assert error.message == WITHHELD
    assert isinstance(error.body, dict) and error.body["step"] == "output_scan"
    error_body = final_error(await raw_events(proxied, key))
    assert error_body["code"] == "blocked" and error_body["reason"] == WITHHELD
    event = await last_event(proxied)
    assert event["blocked_by"] == "output_scan" and event["id"] == error_body["audit_id"]
    assert (event["status"], event["reason"]) == ("blocked", WITHHELD)


async def test_a_step_failing_mid_stream_raises_api_error_never_done(
        output_scan_breaks: None, proxied: Gateway, sdk_for: Any) -> None:
    key = await proxied.add_agent(preset="standard")
    _, error = await consume(sdk_for(key))
    assert "'output_scan' failed" in error.message
    assert "ZeroDivisionError" not in error.message  # the cause is for admins only
    error_body = final_error(await raw_events(proxied, key))
    assert (error_body["type"], error_body["code"], error_body["step"],
            error_body["retryable"]) == ("governance_error", "step_failed", "output_scan", False)
    event = await last_event(proxied)
    assert (event["id"], event["status"], event["http_status"]) == (
        error_body["audit_id"], "failed", 503)
    assert error_body["audit_id"] in error_body["message"]
    assert event["reason"] == error_body["message"]
    assert "ZeroDivisionError" in event["error"]


async def test_a_clean_stream_still_ends_with_done(proxied: Gateway, sdk_for: Any) -> None:
    key = await proxied.add_agent()
    stream = await sdk_for(key).chat.completions.create(model="gpt-4o", messages=MESSAGES,
                                                        stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "upstream says: tell me"
    events = await raw_events(proxied, key)
    assert events[-1] == "data: [DONE]"
    event = await last_event(proxied)
    assert (event["status"], event["http_status"], event["reason"]) == ("allowed", 200, None)
    await one_event_per_request(proxied, 2)


async def test_usage_is_hidden_from_clients_that_did_not_ask_whatever_the_json_spacing(
        proxied: Gateway) -> None:
    key = await proxied.add_agent()
    events = await raw_events(proxied, key, "spaced-json")
    assert events[-1] == "data: [DONE]"
    assert not any("usage" in e for e in events)
    chunks = [orjson.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == \
        "upstream says: tell me"
    assert (await last_event(proxied))["usage"]["total_tokens"] == 15


async def test_a_chunk_that_is_not_an_object_ends_the_stream_upstream_invalid(
        proxied: Gateway) -> None:
    key = await proxied.add_agent()
    events = await raw_events(proxied, key, "odd-usage")
    error_body = final_error(events)
    assert (error_body["code"], error_body["type"], error_body["retryable"]) == (
        "upstream_invalid", "upstream_error", False)
    assert 'data: ["usage"]' not in events  # not forwarded
    chunks = [orjson.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == \
        "upstream says: tell me"  # the valid chunks before it were
    event = await last_event(proxied)
    assert (event["id"], event["status"], event["http_status"]) == (
        error_body["audit_id"], "failed", 502)
    assert event["usage"]["total_tokens"] == 15  # the valid usage chunk is kept


async def test_a_usage_with_non_integer_counts_ends_the_stream_upstream_invalid(
        proxied: Gateway) -> None:
    key = await proxied.add_agent()
    events = await raw_events(proxied, key, "string-counts")
    error_body = final_error(events)
    assert (error_body["code"], error_body["retryable"]) == ("upstream_invalid", False)
    assert not any('"10"' in e for e in events)  # the bad chunk is not forwarded
    event = await last_event(proxied)
    assert (event["status"], event["http_status"]) == ("failed", 502)
    assert event["usage"]["total_tokens"] == 15  # not overwritten by the unreadable counts
