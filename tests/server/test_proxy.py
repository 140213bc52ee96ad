"""Proxying to an OpenAI-compatible upstream: keys, tools, streaming usage, failures, cost."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import ADMIN_HEADERS, Gateway
from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream


async def last_event(gw: Gateway) -> dict:
    response = await gw.client.get("/v1/audit?limit=1", headers=ADMIN_HEADERS)
    return response.json()["data"][0]


async def test_upstream_gets_the_provider_key_never_the_agent_key(
        proxied: Gateway, upstream: FakeUpstream) -> None:
    key = await proxied.add_agent()
    response = await proxied.chat(key, "hi there", model="gpt-4o")
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "upstream says: hi there"
    sent = upstream.requests[-1]
    assert sent["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert key not in orjson.dumps(sent).decode()
    assert sent["body"]["model"] == "gpt-4o"


async def test_upstream_answer_is_forwarded_byte_for_byte(proxied: Gateway) -> None:
    key = await proxied.add_agent()
    response = await proxied.chat(key, model="gpt-4o")
    assert response.json()["system_fingerprint"] == "fp_fake"
    assert response.json()["usage"] == {"prompt_tokens": 10, "completion_tokens": 5,
                                        "total_tokens": 15}


async def test_cost_is_tracked_from_upstream_usage(proxied: Gateway) -> None:
    key = await proxied.add_agent()
    await proxied.chat(key, model="gpt-4o")
    event = await last_event(proxied)
    assert event["usage"]["total_tokens"] == 15
    assert event["cost_usd"] == pytest.approx((10 * 2.50 + 5 * 10.00) / 1_000_000)
    assert event["provider"] == "openai"


async def test_tools_and_tool_calls_pass_through(proxied: Gateway, upstream: FakeUpstream) -> None:
    key = await proxied.add_agent()
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    response = await proxied.chat(key, model="tool-caller", tools=tools, tool_choice="auto")
    assert upstream.requests[-1]["body"]["tools"] == tools
    call = response.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert (await last_event(proxied))["request"]["tools"] == 1


def sse_chunks(text: str) -> list[dict]:
    events = [e for e in text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    return [orjson.loads(e.removeprefix("data: ")) for e in events[:-1]]


async def test_stream_without_include_usage_looks_like_openai(proxied: Gateway,
                                                             upstream: FakeUpstream) -> None:
    key = await proxied.add_agent()
    response = await proxied.chat(key, "abc", model="gpt-4o", stream=True)
    chunks = sse_chunks(response.text)
    assert all("usage" not in c for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == \
        "upstream says: abc"
    # the gateway asked for usage on its own account, so the cost is still known
    assert upstream.requests[-1]["body"]["stream_options"] == {"include_usage": True}
    assert (await last_event(proxied))["usage"]["total_tokens"] == 15


async def test_stream_with_include_usage_keeps_the_usage_chunk(proxied: Gateway) -> None:
    key = await proxied.add_agent()
    response = await proxied.chat(key, model="gpt-4o", stream=True,
                                  stream_options={"include_usage": True})
    chunks = sse_chunks(response.text)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 15
    assert all(c["usage"] is None for c in chunks[:-1])


@pytest.mark.parametrize("model, status, code", [
    ("fail-500", 502, "upstream_error"),
    ("bad-key", 502, "upstream_auth_failed"),
    ("rate-limited", 429, "upstream_rate_limited"),
])
async def test_upstream_failures_become_clear_errors_and_are_audited(
        proxied: Gateway, model: str, status: int, code: str) -> None:
    key = await proxied.add_agent()
    response = await proxied.chat(key, model=model)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and "openai" in error["message"]
    event = await last_event(proxied)
    assert event["status"] == "failed" and event["http_status"] == status
    assert event["id"] == error["audit_id"]


async def test_upstream_timeout_is_504(proxied: Gateway) -> None:
    key = await proxied.add_agent()
    response = await proxied.chat(key, model="slow")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


async def test_unreachable_upstream_is_502(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, model="ollama/llama3.1")
    # nothing listens on Ollama's port on this machine
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["message"] == "provider 'ollama' could not be reached"
    assert error["retryable"] is True and error["audit_id"].startswith("ae_")
    assert "11434" not in response.text and "127.0.0.1" not in response.text
    event = await gateway.event(error["audit_id"])
    assert "127.0.0.1:11434" in event["error"]  # the admin sees where the gateway connected


async def test_unconfigured_provider_is_503_naming_the_setting(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, model="gpt-4o")
    assert response.status_code == 503
    assert "OPENAI_API_KEY" in response.json()["error"]["message"]


async def test_budget_blocks_calls_over_the_per_call_cap(proxied: Gateway) -> None:
    key = await proxied.add_agent(preset="standard", flags={"budget": "custom:0.001:1"})
    response = await proxied.chat(key, model="gpt-4o", max_tokens=4000)
    assert response.status_code == 403
    assert response.json()["error"]["step"] == "budget_enforcement"
    assert (await proxied.chat(key, model="gpt-4o", max_tokens=10)).status_code == 200


async def test_budget_blocks_once_the_agent_spent_its_cap(proxied: Gateway) -> None:
    key = await proxied.add_agent(preset="standard", flags={"budget": "custom:1:0.0002"})
    statuses = [(await proxied.chat(key, model="gpt-4o", max_tokens=5)).status_code
                for _ in range(4)]
    assert statuses[0] == 200 and statuses[-1] == 403
    event = await last_event(proxied)
    assert event["blocked_by"] == "budget_enforcement" and "per day" in event["reason"]


async def test_models_lists_the_demo_model_and_upstream_models(proxied: Gateway) -> None:
    key = await proxied.add_agent()
    response = await proxied.client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    ids = [m["id"] for m in response.json()["data"]]
    assert ids[0] == "tappass/echo" and "gpt-4o" in ids
    assert response.json()["data"][0]["owned_by"] == "tappass-demo"
