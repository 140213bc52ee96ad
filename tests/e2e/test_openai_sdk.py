"""End to end: the real gateway process, the official `openai` SDK, a local upstream."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gw(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": UPSTREAM_KEY}
    with running_gateway(tmp_path_factory.mktemp("e2e"), env=env) as gateway:
        yield gateway


def register(gw: Gateway, name: str, preset: str = "starter",
             flags: dict[str, str] | None = None) -> str:
    response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                          json={"name": name, "preset": preset, "flags": flags or {}})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def client(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0)


def test_sdk_gets_a_completion(gw: Gateway) -> None:
    sdk = client(gw, register(gw, "sdk-plain"))
    completion = sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello"}])
    assert completion.choices[0].message.content == "upstream says: Hello"
    assert completion.usage is not None and completion.usage.total_tokens == 15


def test_sdk_streams_with_usage(gw: Gateway) -> None:
    sdk = client(gw, register(gw, "sdk-stream"))
    stream = sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "upstream says: Hi"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 15


def test_sdk_streams_the_demo_model_without_a_provider_key(gw: Gateway) -> None:
    sdk = client(gw, register(gw, "sdk-echo"))
    stream = sdk.chat.completions.create(
        model="tappass/echo", messages=[{"role": "user", "content": "echo me back"}],
        stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == \
        "echo me back"


def test_sdk_tool_calls(gw: Gateway) -> None:
    # the fake model calls get_weather({"city": "Paris"}): the answer's PII scan covers
    # tool-call arguments and reads a place field as a place, so the call passes
    sdk = client(gw, register(gw, "sdk-tools", "standard"))
    completion = sdk.chat.completions.create(
        model="tool-caller", messages=[{"role": "user", "content": "weather?"}],
        tools=[{"type": "function", "function": {"name": "get_weather",
                                                 "parameters": {"type": "object"}}}])
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"


def test_sdk_raw_response_carries_governance_headers(gw: Gateway) -> None:
    sdk = client(gw, register(gw, "sdk-headers", "regulated"))
    raw = sdk.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert raw.headers["x-tappass-audit-id"].startswith("ae_")
    assert raw.headers["x-tappass-steps"].count("=") == 45
    assert "detect_pii=allow" in raw.headers["x-tappass-steps"]
    assert "classify_data=allow" in raw.headers["x-tappass-steps"]
    assert "detect_shell_bleed=allow" in raw.headers["x-tappass-steps"]
    assert "unavailable" not in raw.headers["x-tappass-steps"]  # every step is implemented


def test_disabled_agent_raises_permission_denied_with_the_step(gw: Gateway) -> None:
    key = register(gw, "sdk-disabled")
    httpx.patch(f"{gw.url}/v1/agents/sdk-disabled", headers=gw.admin_headers,
                content=b'{"enabled": false}')
    with pytest.raises(openai.PermissionDeniedError) as info:
        client(gw, key).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 403
    body = info.value.body
    assert isinstance(body, dict)
    assert body["step"] == "authentication" and "disabled" in body["reason"]


def test_rotated_key_raises_authentication_error(gw: Gateway) -> None:
    old = register(gw, "sdk-rotate")
    httpx.post(f"{gw.url}/v1/agents/sdk-rotate/rotate-key", headers=gw.admin_headers)
    with pytest.raises(openai.AuthenticationError):
        client(gw, old).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_upstream_failure_reaches_the_sdk_as_502(gw: Gateway) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client(gw, register(gw, "sdk-fail")).chat.completions.create(
            model="fail-500", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502


def test_models_endpoint_through_the_sdk(gw: Gateway) -> None:
    models = client(gw, register(gw, "sdk-models")).models.list()
    assert "tappass/echo" in [m.id for m in models.data]
