"""AsyncAgent has the same surface and behaviour as Agent."""

from __future__ import annotations

import inspect

import httpx
import pytest

from tappass import (
    APIError,
    Agent,
    AsyncAgent,
    AsyncStream,
    ChatCompletion,
    GatewayConnectionError,
    PolicyBlockError,
    RateLimitError,
)
from tappass.sdk._agent import Chat, Completions
from tappass.sdk._async_agent import AsyncChat, AsyncCompletions
from tests.sdk.conftest import Script, blocked, chunk, ok, sse, streamed
from tests.sdk.test_stream import BLOCK_EVENT


@pytest.mark.parametrize("sync, async_", [(Agent, AsyncAgent), (Chat, AsyncChat),
                                          (Completions, AsyncCompletions)])
def test_same_public_surface(sync: type, async_: type) -> None:
    def public(cls: type) -> dict[str, inspect.Signature | None]:
        members = {name: getattr(cls, name) for name in dir(cls)
                   if not name.startswith("_") or name in ("__call__", "__init__")}
        return {name: inspect.signature(m) if callable(m) else None
                for name, m in members.items()}

    sync_api, async_api = public(sync), public(async_)
    assert sync_api.keys() == async_api.keys()
    for name in ("__call__", "create", "headers", "__init__"):
        if sync_api.get(name):
            assert list(sync_api[name].parameters) == list(async_api[name].parameters)


async def test_chat_and_create() -> None:
    script = Script(ok(headers={"X-TapPass-Would-Block": "validate_input:NUL"}))
    async with script.async_agent(flags={"mode": "observe"}, session_id="s1") as agent:
        reply = await agent.chat("Hello", model="gpt-4o")
        completion = await agent.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Hello"}], temperature=0)
    assert reply.content == "hi there" and reply.audit_id == "ae_123"
    assert reply.governance.would_block == [("validate_input", "NUL")]
    assert isinstance(completion, ChatCompletion) and completion.usage.prompt_tokens == 3
    request = script.requests[-1]
    assert request.headers["x-tappass-flags"] == "mode=observe"
    assert request.headers["x-session-id"] == "s1"
    assert script.last_body["temperature"] == 0


async def test_block_raises_policy_block_error() -> None:
    script = Script(blocked())
    agent = script.async_agent(max_retries=3)
    with pytest.raises(PolicyBlockError) as info:
        await agent.chat("x", model="m")
    assert info.value.step == "detect_pii" and len(script.requests) == 1
    with pytest.raises(RateLimitError):
        script.answers = [blocked(429, "rate_limit", code="rate_limited")]
        await agent.chat("x", model="m")


async def test_retries_then_raises_connection_error() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(GatewayConnectionError):
        await script.async_agent(max_retries=2).chat("x", model="m")
    assert len(script.requests) == 3
    script = Script(httpx.Response(504), ok())
    assert (await script.async_agent(max_retries=1).chat("x", model="m")).content == "hi there"


async def test_only_marked_503s_are_retried() -> None:
    marked = {"error": {"message": "audit down", "code": "audit_unavailable", "retryable": True}}
    script = Script(httpx.Response(503, json=marked), ok())
    assert (await script.async_agent(max_retries=1).chat("x", model="m")).content == "hi there"
    config = {"error": {"message": "not configured", "code": "provider_not_configured"}}
    script = Script(httpx.Response(503, json=config), ok())
    with pytest.raises(APIError):
        await script.async_agent(max_retries=3).chat("x", model="m")
    assert len(script.requests) == 1


async def test_stream_and_block_mid_stream() -> None:
    script = Script(streamed(sse(chunk("Hel"), chunk("lo"), "[DONE]")))
    agent = script.async_agent()
    stream = await agent.chat.completions.create(model="m", messages="x", stream=True)
    assert isinstance(stream, AsyncStream) and stream.governance.audit_id == "ae_123"
    assert "".join([c.choices[0].delta.content async for c in stream]) == "Hello"

    script.answers = [streamed(sse(chunk("par"), BLOCK_EVENT))]
    stream = await agent.chat.completions.create(model="m", messages="x", stream=True)
    got: list[str] = []
    with pytest.raises(PolicyBlockError) as info:
        async for piece in stream:
            got.append(piece.choices[0].delta.content)
    assert got == ["par"] and info.value.step == "detect_secrets"


async def test_stream_open_block_and_context_manager() -> None:
    script = Script(blocked())
    agent = script.async_agent()
    with pytest.raises(PolicyBlockError):
        await agent.chat.completions.create(model="m", messages="x", stream=True)
    script.answers = [streamed(sse(chunk("a"), "[DONE]"))]
    async with await agent.chat.completions.create(model="m", messages="x",
                                                   stream=True) as stream:
        assert (await stream.__anext__()).choices[0].delta.content == "a"
    assert stream.response.is_closed
    await agent.close()
