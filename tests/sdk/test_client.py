"""Agent against a scripted gateway (httpx.MockTransport): bodies, answers, errors, retries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tappass import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ChatCompletion,
    GatewayConnectionError,
    GatewayTimeout,
    PolicyBlockError,
    RateLimitError,
    ServerError,
    UpstreamError,
    UpstreamRateLimitError,
)
from tests.sdk.conftest import Script, blocked, completion_body, ok


def test_chat_returns_content_usage_governance_and_audit_id() -> None:
    script = Script(ok(headers={"X-TapPass-Classification": "INTERNAL"}))
    reply = script.agent().chat("Hello", model="gpt-4o")
    assert reply.content == "hi there" and str(reply) == "hi there"
    assert reply.usage is not None and reply.usage.total_tokens == 5
    assert reply.audit_id == "ae_123" and reply.finish_reason == "stop"
    assert reply.model == "gpt-4o" and reply.tool_calls == []
    gov = reply.governance
    assert gov.pipeline == "standard" and gov.mode == "enforce"
    assert gov.flags == {"mode": "enforce", "pii": "mask"}
    assert gov.steps == [("validate_input", "allow"), ("llm_call", "allow")]
    assert gov.verdict("llm_call") == "allow" and gov.verdict("detect_pii") is None
    assert gov.classification == "INTERNAL" and gov.would_block == []
    assert script.last_body == {"model": "gpt-4o",
                                "messages": [{"role": "user", "content": "Hello"}]}


def test_would_block_reasons_are_decoded() -> None:
    script = Script(ok(headers={
        "X-TapPass-Mode": "observe",
        "X-TapPass-Would-Block": "validate_input:invalid%20input%3A%20NUL%2C%20bad, "
                                 "detect_pii:PII%20found"}))
    gov = script.agent().chat("x", model="m").governance
    assert gov.would_block == [("validate_input", "invalid input: NUL, bad"),
                               ("detect_pii", "PII found")]
    assert gov.would_block[0].reason == "invalid input: NUL, bad"


def test_missing_governance_headers_leave_fields_empty() -> None:
    script = Script(httpx.Response(200, json=completion_body()))
    gov = script.agent().chat("x", model="m").governance
    assert gov.audit_id is None and gov.steps == [] and gov.flags == {}


def test_create_passes_openai_arguments_through() -> None:
    script = Script(ok())
    completion = script.agent().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], temperature=0.2,
        tools=[{"type": "function", "function": {"name": "f"}}], tool_choice="auto",
        extra_body={"metadata": {"a": "b"}}, extra_headers={"X-Custom": "1"},
        extra_query={"q": "1"}, timeout=3.0)
    assert isinstance(completion, ChatCompletion)
    body = script.last_body
    assert body["temperature"] == 0.2 and body["tool_choice"] == "auto"
    assert body["metadata"] == {"a": "b"} and "stream" not in body
    request = script.requests[-1]
    assert request.headers["x-custom"] == "1" and request.url.params["q"] == "1"
    assert request.url.path == "/v1/chat/completions"
    assert request.extensions["timeout"]["read"] == 3.0


def test_openai_not_given_sentinels_are_left_out() -> None:
    class NotGiven:
        pass

    script = Script(ok())
    script.agent().chat.completions.create(model="m", messages="x", temperature=NotGiven())
    assert "temperature" not in script.last_body


def test_the_answer_message_can_be_sent_back() -> None:
    """Tool loops append `completion.choices[0].message` to the next request's messages."""
    body = completion_body()
    body["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}
    body["choices"][0]["finish_reason"] = "tool_calls"
    script = Script(ok(body))
    agent = script.agent()
    messages: list[Any] = [{"role": "user", "content": "weather?"}]
    completion = agent.chat.completions.create(model="m", messages=messages)
    call = completion.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city":"Paris"}')
    messages += [completion.choices[0].message,
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    agent.chat.completions.create(model="m", messages=messages)
    assert script.last_body["messages"][1] == body["choices"][0]["message"]


def test_completion_objects_read_like_openai_types() -> None:
    data = completion_body()
    data["x_extra"] = {"k": 1}
    completion = ChatCompletion(data)
    assert completion.to_dict() == data
    assert completion["id"] == "chatcmpl-1" and completion.x_extra == {"k": 1}
    assert completion.system_fingerprint is None and completion.choices[0].message.refusal is None
    dumped = completion.model_dump()
    assert dumped["system_fingerprint"] is None and dumped["choices"][0]["message"]["tool_calls"] \
        is None
    assert completion.model_dump(exclude_unset=True) == data
    assert ChatCompletion(data) == completion and "chatcmpl-1" in repr(completion)
    with pytest.raises(AttributeError):
        completion.no_such_field  # noqa: B018
    with pytest.raises(KeyError):
        completion["no_such_field"]


@pytest.mark.parametrize("response, error, attrs", [
    (blocked(), PolicyBlockError, {"step": "detect_pii", "reason": "PII detected in request",
                                   "audit_id": "ae_blocked", "classification": "CONFIDENTIAL",
                                   "blocked_by": "detect_pii", "status": 403}),
    (blocked(429, "rate_limit", "rate limit exceeded", "rate_limited", {"Retry-After": "7"}),
     RateLimitError, {"step": "rate_limit", "retry_after": 7.0, "status": 429}),
    (httpx.Response(401, json={"error": {"message": "invalid API key", "type":
                                         "authentication_error", "code": "invalid_api_key"}}),
     AuthenticationError, {"status": 401, "code": "invalid_api_key"}),
    (httpx.Response(400, json={"error": {"message": "unknown flag", "code": "invalid_flag"}}),
     BadRequestError, {"message": "unknown flag", "code": "invalid_flag"}),
    (httpx.Response(502, json={"error": {"message": "provider down", "type": "upstream_error",
                                         "code": "upstream_error"}}),
     UpstreamError, {"status": 502}),
    (httpx.Response(500, text="<html>oops</html>"), ServerError, {"message": "<html>oops</html>"}),
])
def test_error_answers_raise_typed_errors(response: httpx.Response, error: type[APIError],
                                          attrs: dict[str, Any]) -> None:
    script = Script(response)
    with pytest.raises(error) as info:
        script.agent(max_retries=0).chat("x", model="m")
    for name, value in attrs.items():
        assert getattr(info.value, name) == value
    assert len(script.requests) == 1


def test_seed_000_block_shape_without_audit_id() -> None:
    script = Script(httpx.Response(403, json={
        "error": {"step": "detect_pii", "reason": "PII detected in request"}}))
    with pytest.raises(PolicyBlockError) as info:
        script.agent().chat("x", model="m")
    assert (info.value.step, info.value.reason) == ("detect_pii", "PII detected in request")
    assert "blocked by detect_pii: PII detected in request" in str(info.value)


def test_block_carries_the_governance_headers() -> None:
    script = Script(blocked(headers={"X-TapPass-Steps": "validate_input=block",
                                     "X-TapPass-Audit-Id": "ae_blocked"}))
    with pytest.raises(PolicyBlockError) as info:
        script.agent().chat("x", model="m")
    assert info.value.governance is not None
    assert info.value.governance.steps == [("validate_input", "block")]


AUDIT_DOWN = {"error": {"message": "audit down", "type": "server_error",
                        "code": "audit_unavailable", "retryable": True}}
NOT_CONFIGURED = {"error": {"message": "provider 'vllm' is not configured: set VLLM_BASE_URL",
                            "type": "upstream_error", "code": "provider_not_configured"}}


@pytest.mark.parametrize("response", [
    httpx.Response(502, json={"error": {"message": "x"}}), httpx.Response(504),
    httpx.Response(503, json=AUDIT_DOWN)])
@pytest.mark.parametrize("stream", [False, True])
def test_retryable_answers_are_retried_then_succeed(response: httpx.Response,
                                                    stream: bool) -> None:
    script = Script(response, ok())
    reply = script.agent(max_retries=2).chat.completions.create(
        model="m", messages="x", **({"stream": True} if stream else {}))
    assert len(script.requests) == 2
    assert stream or reply.choices[0].message.content == "hi there"


def test_retries_stop_after_max_retries() -> None:
    script = Script(httpx.Response(503, json=AUDIT_DOWN))
    with pytest.raises(ServerError):
        script.agent(max_retries=3).chat("x", model="m")
    assert len(script.requests) == 4


@pytest.mark.parametrize("response", [blocked(), blocked(429, "rate_limit", code="rate_limited"),
                                      httpx.Response(400, json={}), httpx.Response(401, json={}),
                                      httpx.Response(500, json={}),
                                      httpx.Response(503, json=NOT_CONFIGURED),
                                      httpx.Response(503, json={"error": {
                                          "message": "pipeline", "code": "pipeline_invalid"}}),
                                      httpx.Response(503, text="unavailable"),
                                      httpx.Response(502, json={"error": {
                                          "message": "no", "retryable": False}}),
                                      httpx.Response(429, json={"error": {
                                          "type": "upstream_error",
                                          "code": "upstream_rate_limited"}})])
def test_policy_decisions_and_client_errors_are_never_retried(response: httpx.Response) -> None:
    script = Script(response)
    with pytest.raises(APIError):
        script.agent(max_retries=5).chat("x", model="m")
    assert len(script.requests) == 1


def test_connection_errors_are_retried_then_raised() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(GatewayConnectionError, match="cannot reach the gateway") as info:
        script.agent(max_retries=2).chat("x", model="m")
    assert isinstance(info.value, ConnectionError) and not isinstance(info.value, GatewayTimeout)
    assert len(script.requests) == 3


def test_timeouts_are_retried_and_raise_gateway_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), ok())
    assert script.agent(max_retries=2).chat("x", model="m").content == "hi there"
    script = Script(httpx.ConnectTimeout("slow"))
    with pytest.raises(GatewayTimeout):
        script.agent(max_retries=1).chat("x", model="m")
    assert len(script.requests) == 2


def test_backoff_doubles_with_jitter_and_honours_retry_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tappass.sdk import _agent

    slept: list[float] = []
    monkeypatch.setattr(_agent.time, "sleep", slept.append)
    script = Script(httpx.Response(502), httpx.Response(502), httpx.Response(502), ok())
    script.agent(max_retries=3, backoff=0.5).chat("x", model="m")
    assert len(slept) == 3
    for got, base in zip(slept, (0.5, 1.0, 2.0), strict=True):
        assert base * 0.75 <= got <= base * 1.25
    slept.clear()
    script = Script(httpx.Response(503, headers={"Retry-After": "1.5"}, json=AUDIT_DOWN), ok())
    script.agent(backoff=0.5).chat("x", model="m")
    assert slept == [1.5]


def test_upstream_rate_limit_names_the_provider_and_carries_retry_after() -> None:
    body = {"error": {"message": "Rate limit reached for requests", "type": "upstream_error",
                      "code": "upstream_rate_limited", "provider": "openai", "retry_after": 2.5,
                      "audit_id": "ae_rl", "param": None}}
    script = Script(httpx.Response(429, json=body, headers={"Retry-After": "3"}))
    with pytest.raises(UpstreamRateLimitError) as info:
        script.agent(max_retries=3).chat("x", model="m")
    error = info.value
    assert (error.provider, error.retry_after, error.status) == ("openai", 3.0, 429)
    assert isinstance(error, UpstreamError) and not isinstance(error, PolicyBlockError)
    assert str(error) == ("provider openai rate-limited the request; retry after 3 s: Rate "
                          "limit reached for requests (audit id ae_rl)")
    assert len(script.requests) == 1
    body["error"]["retry_after"] = None
    del body["error"]["provider"]
    with pytest.raises(UpstreamRateLimitError) as info:
        Script(httpx.Response(429, json=body)).agent().chat("x", model="m")
    assert info.value.retry_after is None and "None" not in str(info.value)
    assert str(info.value).startswith("the model provider rate-limited the request: ")


@pytest.mark.parametrize("body", [
    {"error": {"message": "slow down", "code": "rate_limited"}},
    {"error": {"reason": "too many", "type": "policy_violation"}},
    {"error": {"message": "x", "type": "policy_violation", "step": None, "audit_id": None}},
])
def test_no_error_message_says_none(body: dict[str, Any]) -> None:
    for status in (403, 429):
        with pytest.raises(APIError) as info:
            Script(httpx.Response(status, json=body)).agent().chat("x", model="m")
        assert "None" not in str(info.value), str(info.value)
