"""SDK test helpers: a scripted gateway on httpx.MockTransport, and the real gateway process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tappass import Agent, AsyncAgent
from tests.support.fake_providers import provider_env
from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream
from tests.support.gateway import Gateway, running_gateway

KEY = "tp_unit-test-agent-key"
URL = "http://gw.test"
HEADERS = {"X-TapPass-Audit-Id": "ae_123", "X-TapPass-Pipeline": "standard",
           "X-TapPass-Mode": "enforce", "X-TapPass-Flags": "mode=enforce, pii=mask",
           "X-TapPass-Steps": "validate_input=allow, llm_call=allow"}


def completion_body(content: str = "hi there") -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}


def sse(*events: Any) -> bytes:
    """An SSE body: dicts become `data: {json}`, strings are sent as they are."""
    out = b""
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        out += b"data: " + data.encode() + b"\n\n"
    return out


def chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o", "choices": [{"index": 0, "delta": delta,
                                            "finish_reason": finish}], **extra}


class Script:
    """Answers each request with the next scripted response; records what it received."""

    def __init__(self, *answers: httpx.Response | Exception |
                 Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def last_body(self) -> dict[str, Any]:
        return dict(json.loads(self.requests[-1].content))

    def agent(self, **options: Any) -> Agent:
        options.setdefault("backoff", 0)
        client = httpx.Client(transport=httpx.MockTransport(self))
        return Agent(URL, KEY, http_client=client, **options)

    def async_agent(self, **options: Any) -> AsyncAgent:
        options.setdefault("backoff", 0)
        client = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return AsyncAgent(URL, KEY, http_client=client, **options)


def ok(body: dict[str, Any] | None = None,
       headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, json=body or completion_body(),
                          headers={**HEADERS, **(headers or {})})


def streamed(body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, content=body, headers={
        "Content-Type": "text/event-stream", **HEADERS, **(headers or {})})


def blocked(status: int = 403, step: str = "detect_pii", reason: str = "PII detected in request",
            code: str = "blocked", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": {
        "message": reason, "type": "policy_violation", "param": None, "code": code,
        "step": step, "blocked_by": step, "reason": reason, "audit_id": "ae_blocked",
        "classification": "CONFIDENTIAL"}})


@pytest.fixture(scope="session")
def gw(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The real gateway process, with the fake OpenAI upstream as its provider."""
    env = {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": UPSTREAM_KEY,
           **provider_env(upstream.url)}
    with running_gateway(tmp_path_factory.mktemp("sdk"), env=env) as gateway:
        yield gateway


def register(gw: Gateway, name: str, preset: str = "starter",
             flags: dict[str, str] | None = None) -> str:
    response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                          json={"name": name, "preset": preset, "flags": flags or {}})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])
