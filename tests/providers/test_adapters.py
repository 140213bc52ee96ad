"""Each provider adapter against a local fake speaking that provider's documented wire format.

The same chat-completions request goes to OpenAI, Azure (classic and v1 paths), Anthropic,
Gemini, Bedrock, Ollama, vLLM and LM Studio; what comes back must be an OpenAI answer or
chunk (validated with the `openai` SDK's types), and what the fake received must be valid
for the provider (validated with the `anthropic`, `google-genai` and `botocore` SDKs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, get_type_hints

import openai.types.chat as oa
import pytest
from anthropic.types import message_create_params
from google.genai import types as genai
from pydantic import TypeAdapter

from tappass.errors import ProviderError
from tappass.providers.registry import Providers
from tappass.settings import load_settings
from tests.support.fake_providers import provider_env
from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream, running_upstream

MODELS = ["gpt-4o", "azure/my-deployment", "claude-3-5-sonnet-20241022", "gemini-2.0-flash",
          "bedrock/anthropic.claude-3-haiku-20240307-v1:0", "ollama/llama3.1", "vllm/qwen",
          "lmstudio/phi"]
ANTHROPIC_FIELDS = set(get_type_hints(message_create_params.MessageCreateParamsNonStreaming,
                                      include_extras=False))


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with running_upstream() as fake:
        yield fake


def providers(upstream: FakeUpstream, **overrides: Any) -> Providers:
    env = {k.lower(): v for k, v in provider_env(upstream.url).items()}
    env = {"anthropic_base_url": env["anthropic_base_url"],
           "anthropic_api_key": env["anthropic_api_key"],
           "gemini_base_url": env["gemini_base_url"], "gemini_api_key": env["gemini_api_key"],
           "azure_openai_endpoint": env["azure_openai_endpoint"],
           "azure_openai_api_key": env["azure_openai_api_key"],
           "bedrock_base_url": env["bedrock_base_url"],
           "aws_access_key_id": env["aws_access_key_id"],
           "aws_secret_access_key": env["aws_secret_access_key"], "aws_region": "us-east-1"}
    settings = load_settings(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY,
                             vllm_base_url=upstream.url, ollama_base_url=upstream.url,
                             lmstudio_base_url=upstream.url, **{**env, **overrides})
    local_keys = {"OLLAMA_API_KEY": UPSTREAM_KEY, "LMSTUDIO_API_KEY": UPSTREAM_KEY,
                  "VLLM_API_KEY": UPSTREAM_KEY}
    return Providers(settings, local_keys.get)


def request(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": "Hello"}], **extra}


def tool_model(model: str) -> str:
    prefix, sep, _ = model.partition("/")
    return f"{prefix}/tool-caller" if sep else "tool-caller"


async def _complete(registry: Providers, body: dict[str, Any]) -> dict[str, Any]:
    provider, upstream_model = registry.route(body["model"])
    try:
        answer, raw = await provider.complete({**body, "model": upstream_model})
    finally:
        await registry.close()
    assert json.loads(raw) == answer
    return answer


async def _stream(registry: Providers, body: dict[str, Any]) -> list[dict[str, Any]]:
    provider, upstream_model = registry.route(body["model"])
    try:
        chunks = await provider.open_stream({**body, "model": upstream_model, "stream": True,
                                             "stream_options": {"include_usage": True}})
        return [json.loads(chunk) async for chunk in chunks]
    finally:
        await registry.close()


@pytest.mark.parametrize("model", MODELS)
async def test_the_same_request_gets_an_openai_answer_from_every_provider(
        upstream: FakeUpstream, model: str) -> None:
    answer = await _complete(providers(upstream), request(model))
    completion = oa.ChatCompletion.model_validate(answer)
    assert completion.choices[0].message.content == "upstream says: Hello"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens == 15


@pytest.mark.parametrize("model", MODELS)
async def test_every_provider_streams_openai_chunks_with_usage(
        upstream: FakeUpstream, model: str) -> None:
    chunks = [oa.ChatCompletionChunk.model_validate(c)
              for c in await _stream(providers(upstream), request(model))]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "upstream says: Hello"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 15


@pytest.mark.parametrize("model", ["claude-3-5-sonnet-20241022", "gemini/tool-caller",
                                   "bedrock/tool-caller"])
async def test_tool_calls_come_back_as_openai_tool_calls(upstream: FakeUpstream,
                                                          model: str) -> None:
    model = "anthropic/tool-caller" if model.startswith("claude") else model
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    answer = oa.ChatCompletion.model_validate(
        await _complete(providers(upstream), request(model, tools=tools)))
    call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert answer.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    chunks = await _stream(providers(upstream), request(model, tools=tools))
    fragments = [tc for c in chunks if c["choices"]
                 for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert fragments[0]["function"]["name"] == "get_weather"
    assert json.loads("".join(f["function"].get("arguments", "") for f in fragments)) == {
        "city": "Paris"}


async def test_anthropic_receives_a_valid_messages_request(upstream: FakeUpstream) -> None:
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is in this picture, and the weather?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}]},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "toolu_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "user", "content": "Thanks. Hello"}]
    await _complete(providers(upstream), {"model": "claude-3-5-haiku-latest",
                                          "messages": history, "max_tokens": 50,
                                          "stop": "END", "tool_choice": "required",
                                          "tools": [{"type": "function", "function": {
                                              "name": "get_weather", "parameters": {}}}]})
    sent = upstream.requests[-1]["body"]
    TypeAdapter(message_create_params.MessageCreateParamsNonStreaming).validate_python(sent)
    assert set(sent) <= ANTHROPIC_FIELDS
    assert sent["system"] == "Be brief." and sent["max_tokens"] == 50
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][0]["content"][1]["source"] == {
        "type": "base64", "media_type": "image/png", "data": "aGVsbG8="}
    assert sent["messages"][1]["content"][0]["input"] == {"city": "Paris"}
    assert sent["messages"][2]["content"][0] == {"type": "tool_result",
                                                 "tool_use_id": "toolu_1", "content": "sunny"}
    assert sent["tool_choice"] == {"type": "any"} and sent["stop_sequences"] == ["END"]


async def test_gemini_receives_valid_contents(upstream: FakeUpstream) -> None:
    await _complete(providers(upstream), request("gemini-2.0-flash", max_tokens=20,
                                                 temperature=0.2))
    sent = upstream.requests[-1]["body"]
    for content in sent["contents"]:
        genai.Content.model_validate(content)
    genai.GenerateContentConfig.model_validate(sent["generationConfig"])
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 20}
    assert upstream.requests[-1]["headers"]["x-goog-api-key"]


async def test_bedrock_request_is_signed_and_valid_for_converse(
        upstream: FakeUpstream) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    await _complete(providers(upstream), request("bedrock/amazon.nova-lite-v1:0",
                                                 max_tokens=20))
    seen = upstream.requests[-1]
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    report = ParamValidator().validate({"modelId": "amazon.nova-lite-v1:0", **seen["body"]},
                                       model.operation_model("Converse").input_shape)
    assert not report.has_errors(), report.generate_report()
    assert seen["path"] == "/bedrock/model/amazon.nova-lite-v1:0/converse"
    assert seen["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID")
    assert seen["body"]["system"] == [{"text": "Be brief."}]


@pytest.mark.parametrize("version,path", [
    ("2024-10-21", "/azure/openai/deployments/my-deployment/chat/completions"),
    ("v1", "/azure/openai/v1/chat/completions")])
async def test_azure_uses_deployments_or_the_v1_path(upstream: FakeUpstream, version: str,
                                                     path: str) -> None:
    await _complete(providers(upstream, azure_openai_api_version=version),
                    request("azure/my-deployment"))
    seen = upstream.requests[-1]
    assert seen["path"] == path and seen["headers"]["api-key"]
    assert ("api-version=2024-10-21" in seen["query"]) == (version != "v1")


@pytest.mark.parametrize("model", ["claude-x", "gemini/fail-500", "bedrock/fail-500"])
async def test_provider_outages_are_retryable_502s_without_urls(upstream: FakeUpstream,
                                                                model: str) -> None:
    model = "anthropic/fail-500" if model == "claude-x" else model
    with pytest.raises(ProviderError) as caught:
        await _complete(providers(upstream), request(model))
    assert caught.value.status == 502 and caught.value.retryable
    assert "127.0.0.1" not in str(caught.value) and "127.0.0.1" in str(caught.value.detail)


async def test_a_wrong_provider_key_is_reported_as_the_gateways_credentials(
        upstream: FakeUpstream) -> None:
    with pytest.raises(ProviderError) as caught:
        await _complete(providers(upstream, anthropic_api_key="sk-ant-wrong"),
                        request("claude-3-5-sonnet-20241022"))
    assert caught.value.code == "upstream_auth_failed" and caught.value.status == 502


def test_a_mid_stream_error_from_anthropic_or_bedrock_fails_the_stream_retryably() -> None:
    from tappass.providers.anthropic import AnthropicReader
    from tappass.providers.bedrock import BedrockReader

    with pytest.raises(ProviderError, match="Overloaded") as anthropic_error:
        AnthropicReader("anthropic", "claude-x").feed("error", b'{"type": "error", "error": '
                                                     b'{"type": "overloaded_error", '
                                                     b'"message": "Overloaded"}}')
    with pytest.raises(ProviderError, match="throttlingException: Too many") as bedrock_error:
        BedrockReader("bedrock", "m").feed("!throttlingException", b'{"message": "Too many"}')
    assert anthropic_error.value.retryable and bedrock_error.value.retryable


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", ["claude-3-5-haiku", "tool-caller"])
def test_the_fakes_answer_what_the_providers_sdks_accept(model: str, stream: bool) -> None:
    """The fakes' payloads parse with the official SDKs' own response types."""
    import orjson
    from anthropic.types import Message, RawMessageStreamEvent
    from botocore.eventstream import EventStreamBuffer

    from tests.support import fake_providers as fakes

    body = {"model": model, "max_tokens": 5, "stream": stream,
            "messages": [{"role": "user", "content": "Hello"}]}
    _, _, pieces = fakes.anthropic({"x-api-key": fakes.ANTHROPIC_KEY,
                                    "anthropic-version": "2023-06-01"}, body,
                                   {fakes.ANTHROPIC_KEY})
    if stream:
        events = [orjson.loads(p.split(b"data: ", 1)[1]) for p in pieces]
        for event in events:
            if event["type"] != "ping":  # the SDK skips pings before parsing
                TypeAdapter(RawMessageStreamEvent).validate_python(event)
    else:
        Message.model_validate(orjson.loads(pieces[0]))
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    _, _, pieces = fakes.gemini(f"/gemini/models/{model}:{method}",
                                {"x-goog-api-key": fakes.GEMINI_KEY},
                                {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]})
    for piece in pieces:
        genai.GenerateContentResponse.model_validate(
            orjson.loads(piece.removeprefix(b"data: ")))
    if stream:  # the binary framing decodes with botocore's own decoder (CRCs checked)
        _, _, frames = fakes.bedrock(
            f"/bedrock/model/{model}/converse-stream",
            {"authorization": f"AWS4-HMAC-SHA256 Credential={fakes.AWS_KEY_ID}/x/us-east-1/"
                              "bedrock/aws4_request, Signature=ab", "x-amz-date": "x"},
            {"messages": [{"role": "user", "content": [{"text": "Hello"}]}]})
        buffer = EventStreamBuffer()
        buffer.add_data(b"".join(frames))
        kinds = [m.headers[":event-type"] for m in buffer]
        assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]


def test_upstream_urls_are_parsed_once_and_kept_bounded() -> None:
    from tappass.providers.http import MAX_PARSED_URLS, HttpProvider
    from tappass.providers.openai_compat import OpenAIDialect

    provider = HttpProvider("p", "http://127.0.0.1:1", OpenAIDialect("http://x/v1", lambda: None))
    first = provider._url("http://127.0.0.1:1/v1/models/a:generateContent")
    assert provider._url("http://127.0.0.1:1/v1/models/a:generateContent") is first
    assert str(first) == "http://127.0.0.1:1/v1/models/a:generateContent"
    for i in range(MAX_PARSED_URLS * 2):  # one per model name an agent asks for
        provider._url(f"http://127.0.0.1:1/v1/models/m{i}:generateContent")
    assert len(provider._urls) <= MAX_PARSED_URLS
