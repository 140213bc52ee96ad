"""End to end: the SDK against the real gateway process and the fake OpenAI upstream.

Each seed snippet runs as written; only `url`, `key` and `prompt` are bound to this gateway.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tappass import (
    Agent,
    APIError,
    AsyncAgent,
    AuthenticationError,
    GatewayConnectionError,
    PolicyBlockError,
    UpstreamError,
    UpstreamRateLimitError,
)
from tests.sdk.conftest import register
from tests.support.fake_upstream import FakeUpstream, free_port
from tests.support.gateway import Gateway

pytestmark = pytest.mark.e2e

NUL = "please process this\x00record"


def openai_client(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0)


def audit_events(gw: Gateway, agent: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{gw.url}/v1/audit", params={"agent": agent},
                         headers=gw.admin_headers)
    return list(response.json()["data"])


def test_seed_000_observe_agent_and_chat(gw: Gateway) -> None:
    url, key = gw.url, register(gw, "seed-000")
    agent = Agent(url, key, flags={"mode": "observe"})
    response = agent.chat("Hello", model="claude-3-5-sonnet-20241022")
    assert response.content == "upstream says: Hello"
    assert response.usage is not None and response.usage.total_tokens == 15
    assert response.audit_id is not None and response.audit_id.startswith("ae_")
    assert response.governance.mode == "observe" and response.governance.pipeline == "starter"
    assert ("llm_call", "allow") in response.governance.steps


def test_seed_002_day_4_existing_openai_code(gw: Gateway) -> None:
    key, prompt = register(gw, "claims-processor"), "Summarise claim 42"
    agent = Agent(
        f"{gw.url}/v1",
        name="claims-processor",
        api_key=key,
        flags={
            "pii": "mask",
            "mode": "observe",  # Start in observe, switch to enforce later
        })
    # Their existing OpenAI code works unchanged
    response = agent.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": prompt}])
    assert response.choices[0].message.content == f"upstream says: {prompt}"
    assert response.governance is not None
    assert response.governance.flags == {"mode": "observe", "pii": "mask"}


def test_seed_002_switch_to_enforce(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPPASS_API_KEY", register(gw, "enforce-bot"))
    url = gw.url
    agent = Agent(
        url,
        flags={"mode": "enforce"}  # Now blocks violations
    )
    assert agent.chat("x", model="tappass/echo").governance.mode == "enforce"
    with pytest.raises(PolicyBlockError) as info:
        agent.chat(NUL, model="tappass/echo")
    assert info.value.step == "validate_input"


def test_seed_002_enforce_via_environment(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPPASS_API_KEY", register(gw, "env-enforce-bot"))
    monkeypatch.setenv("TAPPASS_FLAGS", "mode=enforce")
    agent = Agent(gw.url)
    with pytest.raises(PolicyBlockError, match="NUL"):
        agent.chat(NUL, model="tappass/echo")


def test_seed_003_flags_in_code_and_in_environment(gw: Gateway,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPPASS_API_KEY", register(gw, "flags-bot", "standard"))
    url = gw.url
    agent = Agent(url, flags={
        "pii": "mask",  # mask | redact | tokenize | off
        "mode": "observe",  # observe | enforce | off
        "email": "internal:company.com",  # restrict email sending
        "budget": "standard",  # dev | standard | custom:<per_call>:<per_session>
    })
    flags = agent.chat("hi", model="tappass/echo").governance.flags
    assert flags == {"pii": "mask", "mode": "observe", "email": "internal:company.com",
                     "budget": "standard"}

    monkeypatch.setenv("TAPPASS_FLAGS", "mode=observe, pii=mask, email=internal:company.com")
    reply = Agent(url).chat(NUL, model="tappass/echo")
    assert reply.governance.mode == "observe"
    assert reply.governance.flags["email"] == "internal:company.com"


def test_openai_package_and_sdk_give_the_same_answer(gw: Gateway) -> None:
    key = register(gw, "parity")
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
    theirs = openai_client(gw, key).chat.completions.create(**request)
    ours = Agent(gw.url, key).chat.completions.create(**request)
    assert ours.to_dict() == theirs.to_dict()
    assert ours.choices[0].message.content == theirs.choices[0].message.content
    assert ours.usage.prompt_tokens == theirs.usage.prompt_tokens
    assert ours.model_dump(exclude_none=True) == theirs.model_dump(exclude_none=True)


def test_tool_calls_match_the_openai_package(gw: Gateway) -> None:
    # {"city": "Paris"} in the answer's tool call is a place field: detect_pii (after) lets it
    key = register(gw, "parity-tools", "standard")
    request = {"model": "tool-caller", "messages": [{"role": "user", "content": "weather?"}],
               "tools": [{"type": "function", "function": {
                   "name": "get_weather", "parameters": {"type": "object"}}}]}
    theirs = openai_client(gw, key).chat.completions.create(**request)
    ours = Agent(gw.url, key).chat.completions.create(**request)
    # each answer carries its own capability token (issued at its own time): same shape
    our_extra, their_extra = ours.to_dict().pop("tappass"), theirs.to_dict().pop("tappass")
    assert [c["tool"] for c in our_extra["capabilities"]] == \
        [c["tool"] for c in their_extra["capabilities"]] == ["get_weather"]
    assert {k: v for k, v in ours.to_dict().items() if k != "tappass"} == \
        {k: v for k, v in theirs.to_dict().items() if k != "tappass"}
    call = ours.choices[0].message.tool_calls[0]
    their_call = theirs.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == (
        their_call.function.name, their_call.function.arguments)
    assert ours.choices[0].finish_reason == "tool_calls"


def test_streams_match_the_openai_package(gw: Gateway) -> None:
    key = register(gw, "parity-stream")
    request: dict[str, Any] = {"model": "gpt-4o", "stream": True,
                               "messages": [{"role": "user", "content": "Hi"}],
                               "stream_options": {"include_usage": True}}
    theirs = [c.to_dict() for c in openai_client(gw, key).chat.completions.create(**request)]
    stream = Agent(gw.url, key).chat.completions.create(**request)
    ours = list(stream)
    assert [c.to_dict() for c in ours] == theirs
    assert "".join(c.choices[0].delta.content or "" for c in ours if c.choices) == \
        "upstream says: Hi"
    assert ours[-1].usage.total_tokens == 15
    assert stream.governance.audit_id is not None and stream.governance.pipeline == "starter"


def test_streaming_the_demo_model(gw: Gateway) -> None:
    agent = Agent(gw.url, register(gw, "stream-echo", "standard"))
    stream = agent.chat.completions.create(
        model="tappass/echo", messages=[{"role": "user", "content": "echo me back"}],
        stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == \
        "echo me back"


def test_disabled_agent_raises_policy_block_error(gw: Gateway) -> None:
    key = register(gw, "sdk-disabled")
    httpx.patch(f"{gw.url}/v1/agents/sdk-disabled", headers=gw.admin_headers,
                json={"enabled": False})
    with pytest.raises(PolicyBlockError) as info:
        Agent(gw.url, key).chat("x", model="gpt-4o")
    error = info.value
    assert error.step == "authentication" and "disabled" in error.reason
    assert error.status == 403 and error.audit_id is not None
    assert any(e["id"] == error.audit_id for e in audit_events(gw, "sdk-disabled"))


def test_enforced_block_carries_step_reason_and_audit_id(gw: Gateway) -> None:
    agent = Agent(gw.url, register(gw, "nul-enforce", "standard"), max_retries=3)
    for stream in (False, True):
        with pytest.raises(PolicyBlockError) as info:
            agent.chat.completions.create(model="tappass/echo", stream=stream,
                                          messages=[{"role": "user", "content": NUL}])
        error = info.value
        assert (error.step, error.blocked_by) == ("validate_input", "validate_input")
        assert "NUL" in error.reason and error.audit_id.startswith("ae_")
        assert error.governance is not None
        assert error.governance.verdict("validate_input") == "block"
    assert len(audit_events(gw, "nul-enforce")) == 2  # a block is never retried


def test_observe_mode_reports_what_would_have_been_blocked(gw: Gateway) -> None:
    agent = Agent(gw.url, register(gw, "nul-observe", "standard"), flags={"mode": "observe"})
    reply = agent.chat(NUL, model="tappass/echo")
    assert reply.content == NUL
    assert [step for step, _ in reply.governance.would_block] == ["validate_input"]
    assert "NUL" in reply.governance.would_block[0].reason
    stream = agent.chat.completions.create(model="tappass/echo", stream=True,
                                           messages=[{"role": "user", "content": NUL}])
    assert stream.governance.would_block[0].step == "validate_input"
    list(stream)


def test_session_id_is_carried_on_every_call(gw: Gateway) -> None:
    agent = Agent(gw.url, register(gw, "session-bot"), session_id="sess-42")
    agent.chat("one", model="tappass/echo")
    agent.chat.completions.create(model="tappass/echo", messages="two")
    agent.chat("three", model="tappass/echo", session_id="sess-other")
    sessions = sorted(e["session_id"] for e in audit_events(gw, "session-bot"))
    assert sessions == ["sess-42", "sess-42", "sess-other"]


def test_rotated_key_raises_authentication_error(gw: Gateway) -> None:
    old = register(gw, "sdk-rotate")
    httpx.post(f"{gw.url}/v1/agents/sdk-rotate/rotate-key", headers=gw.admin_headers)
    with pytest.raises(AuthenticationError):
        Agent(gw.url, old).chat("x", model="gpt-4o")


def test_upstream_failure_raises_upstream_error_after_retries(
        gw: Gateway, upstream: FakeUpstream) -> None:
    agent = Agent(gw.url, register(gw, "sdk-fail"), max_retries=1, backoff=0)
    before = len(upstream.requests)
    with pytest.raises(UpstreamError) as info:
        agent.chat("x", model="fail-500")
    assert info.value.status == 502
    assert len(upstream.requests) - before == 2


def test_a_configuration_error_is_not_retried_and_audited_once(gw: Gateway) -> None:
    agent = Agent(gw.url, register(gw, "sdk-no-vllm"), max_retries=3, backoff=0.2)
    with pytest.raises(APIError) as info:
        agent.chat("Hello", model="vllm/llama")
    error = info.value
    assert error.status == 503 and error.code == "provider_not_configured"
    assert "VLLM_BASE_URL" in str(error)
    assert len(audit_events(gw, "sdk-no-vllm")) == 1


def test_an_upstream_rate_limit_names_no_none(gw: Gateway, upstream: FakeUpstream) -> None:
    agent = Agent(gw.url, register(gw, "sdk-upstream-429"), max_retries=3, backoff=0)
    before = len(upstream.requests)
    with pytest.raises(UpstreamRateLimitError) as info:
        agent.chat("x", model="rate-limited")
    error = info.value
    assert error.status == 429 and "None" not in str(error)
    assert "rate-limited the request" in str(error) and "Rate limit reached" in str(error)
    assert error.provider in (None, "openai")
    assert len(upstream.requests) - before == 1  # never retried by the SDK


def test_unreachable_gateway_raises_connection_error() -> None:
    agent = Agent(f"http://127.0.0.1:{free_port()}", "tp_x", max_retries=1, backoff=0)
    with pytest.raises(GatewayConnectionError, match="cannot reach the gateway"):
        agent.chat("x", model="gpt-4o")


async def test_async_agent_end_to_end(gw: Gateway) -> None:
    key = register(gw, "async-bot", "standard")
    async with AsyncAgent(gw.url, key, flags={"mode": "observe"}) as agent:
        reply = await agent.chat(NUL, model="tappass/echo")
        assert reply.governance.would_block[0].step == "validate_input"
        stream = await agent.chat.completions.create(
            model="tappass/echo", messages=[{"role": "user", "content": "async hi"}],
            stream=True)
        assert "".join([c.choices[0].delta.content or "" async for c in stream
                        if c.choices]) == "async hi"
        with pytest.raises(PolicyBlockError) as info:
            await agent.chat(NUL, model="tappass/echo", flags={"mode": "enforce"})
        assert info.value.step == "validate_input"
