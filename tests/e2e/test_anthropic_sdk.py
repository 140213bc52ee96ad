"""End to end: the official `anthropic` SDK against `/v1/messages` on the real gateway.

The same governed path as `/v1/chat/completions`: the answer, the stream and every error
come back in Anthropic's shapes, whatever provider serves the model.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.support.fake_providers import provider_env
from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gw(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": UPSTREAM_KEY,
           **provider_env(upstream.url)}
    with running_gateway(tmp_path_factory.mktemp("anthropic"), env=env) as gateway:
        yield gateway


def register(gw: Gateway, name: str, **extra: object) -> str:
    response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                          json={"name": name, "preset": "starter", "flags": {}, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def sdk(gw: Gateway, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0)


@pytest.mark.parametrize("model", ["claude-3-5-sonnet-20241022", "gpt-4o"])
def test_the_sdk_gets_a_message_from_any_provider(gw: Gateway, model: str) -> None:
    client = sdk(gw, register(gw, f"messages-{model[:6]}"))
    message = client.messages.create(model=model, max_tokens=100, system="Be brief.",
                                     messages=[{"role": "user", "content": "Hello"}])
    assert message.content[0].type == "text" and message.content[0].text == \
        "upstream says: Hello"
    assert message.stop_reason == "end_turn" and message.role == "assistant"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 5)
    events = httpx.get(f"{gw.url}/v1/audit", headers=gw.admin_headers,
                       params={"agent": f"messages-{model[:6]}"}).json()["data"]
    assert [e["status"] for e in events] == ["allowed"]


def test_the_sdk_streams_text_and_usage(gw: Gateway) -> None:
    client = sdk(gw, register(gw, "messages-stream"))
    with client.messages.stream(model="claude-3-5-sonnet-20241022", max_tokens=100,
                                messages=[{"role": "user", "content": "Hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "upstream says: Hi"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 5


def test_the_sdk_streams_a_tool_call(gw: Gateway) -> None:
    client = sdk(gw, register(gw, "messages-tools"))
    with client.messages.stream(
            model="anthropic/tool-caller", max_tokens=100,
            tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
            messages=[{"role": "user", "content": "Weather?"}]) as stream:
        final = stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.input == {"city": "Paris"} and final.stop_reason == "tool_use"


def test_errors_come_back_in_anthropics_shape(gw: Gateway) -> None:
    with pytest.raises(anthropic.AuthenticationError) as denied:
        sdk(gw, "tp_wrong").messages.create(model="claude-3-5-sonnet-20241022", max_tokens=5,
                                            messages=[{"role": "user", "content": "Hi"}])
    assert denied.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    client = sdk(gw, register(gw, "messages-errors"))
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        client.post("/v1/messages", cast_to=httpx.Response, body={
            "model": "claude-3-5-sonnet-20241022",
            "messages": [{"role": "user", "content": "Hi"}]})
    with pytest.raises(anthropic.InternalServerError) as failed:
        client.messages.create(model="anthropic/fail-500", max_tokens=5,
                               messages=[{"role": "user", "content": "Hi"}])
    body = failed.value.response.json()
    assert failed.value.status_code == 502 and body["type"] == "error"
    assert body["error"]["type"] == "api_error" and body["error"]["retryable"] is True
    assert "127.0.0.1" not in failed.value.response.text


def test_provider_errors_on_chat_completions_are_openai_shaped(gw: Gateway) -> None:
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=register(gw, "chat-errors"),
                           max_retries=0)
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="anthropic/fail-500",
                                       messages=[{"role": "user", "content": "Hi"}])
    error = failed.value.response.json()["error"]
    assert error["code"] == "upstream_error" and error["provider"] == "anthropic"
    assert "127.0.0.1" not in failed.value.response.text
