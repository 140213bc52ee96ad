"""How a governed stream ends, driven in-process (no HTTP, no subprocess).

The end-to-end tests (tests/e2e/test_streams_e2e.py) cut real streams with real signals;
these drive `stream_body` directly so each ending (the agent going away, the gateway
shutting down, a fault inside the gateway, an audit completion that fails) is checked
with its exact audit event and its exact last bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any, cast

import orjson
import pytest

from tappass import keys
from tappass.errors import ProviderError, StorageError
from tappass.pipeline.context import Context
from tappass.server.failures import AUDIT_UNAVAILABLE
from tappass.server.messages import AnthropicStream
from tappass.server.streaming import (
    DISCONNECTED,
    DONE,
    SHUT_DOWN,
    OpenAIStream,
    OpenStream,
    open_stream,
    stream_body,
)
from tests.conftest import Gateway
from tests.support.steps import WITHHELD, BlockAnswer, implemented

CONTENT = b'{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":' \
          b'{"content":"hi"}}],"usage":null}'
USAGE = b'{"id":"c1","object":"chat.completion.chunk","choices":[],"usage":' \
        b'{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}'


class Upstream:
    """An upstream stream: yields `chunks`, then raises `fail` (if any); records aclose."""

    def __init__(self, *chunks: bytes, fail: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._run()

    async def _run(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.fail is not None:
            raise self.fail

    async def aclose(self) -> None:
        self.closed = True


class NoClose:
    """An upstream iterator that has no `aclose` at all."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


async def streaming_ctx(gw: Gateway, upstream: Upstream | NoClose, *,
                        include_usage: bool = False, preset: str = "starter") -> Context:
    """A request past its before and call phases, its upstream answer about to stream."""
    await gw.add_agent(preset=preset)
    services = gw.services
    agent = await services.agents.get("bot")
    body: dict[str, Any] = {"model": "gpt-4o", "stream": True,
                            "messages": [{"role": "user", "content": "tell me"}]}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    ctx = Context(audit_id=keys.new_id("ae"), services=services, agent=agent,
                  pipeline=services.catalog.for_agent(agent), flags={}, session_id=None,
                  body=body)
    ctx.provider = services.providers.echo
    ctx.chunks = upstream  # type: ignore[assignment]
    return ctx


async def read_all(stream: OpenStream, fmt: AnthropicStream | None = None) -> list[bytes]:
    return [part async for part in stream_body(stream, fmt)]


def anthropic_error_of(tail: bytes) -> dict[str, Any]:
    kind, data = tail.split(b"\n", 1)
    assert kind == b"event: error" and data.startswith(b"data: ")
    body = orjson.loads(data.removeprefix(b"data: "))
    assert body["type"] == "error"
    return dict(body["error"])


def error_of(tail: bytes) -> dict[str, Any]:
    assert tail.startswith(b"data: ") and tail.endswith(b"\n\n")
    body = orjson.loads(tail.removeprefix(b"data: "))
    assert set(body) == {"error"}
    return dict(body["error"])


async def test_a_clean_stream_is_completed_allowed_at_its_opening_time(gateway: Gateway) -> None:
    upstream = Upstream(CONTENT, USAGE)
    ctx = await streaming_ctx(gateway, upstream)
    stream = await open_stream(ctx)
    opened = (await gateway.event(ctx.audit_id))
    assert (opened["status"], opened["http_status"]) == ("open", 200)
    assert len(gateway.services.streams) == 1
    parts = await read_all(stream)
    assert parts[-1] == DONE
    assert upstream.closed
    assert len(gateway.services.streams) == 0
    event = await gateway.event(ctx.audit_id)
    assert (event["status"], event["http_status"], event["error"]) == ("allowed", 200, None)
    assert event["timestamp"] == opened["timestamp"]  # the stream's start, not its end
    assert event["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}


async def test_usage_chunk_is_swallowed_and_null_usage_stripped_for_clients_that_did_not_ask(
        gateway: Gateway) -> None:
    spaced = CONTENT.replace(b',"usage":null', b', "usage": null')
    ctx = await streaming_ctx(gateway, Upstream(CONTENT, spaced, USAGE))
    parts = await read_all(await open_stream(ctx))
    assert parts == [b"data: " + CONTENT.replace(b',"usage":null', b"") + b"\n\n"] * 2 + [DONE]


async def test_clients_that_asked_for_usage_get_every_chunk_as_received(
        gateway: Gateway) -> None:
    ctx = await streaming_ctx(gateway, Upstream(CONTENT, USAGE), include_usage=True)
    parts = await read_all(await open_stream(ctx))
    assert parts == [b"data: " + CONTENT + b"\n\n", b"data: " + USAGE + b"\n\n", DONE]
    assert (await gateway.event(ctx.audit_id))["usage"]["total_tokens"] == 6


def test_a_usage_chunk_that_carries_content_is_forwarded_without_its_usage() -> None:
    fmt = OpenAIStream()
    with_content = CONTENT.replace(b'"usage":null', b'"usage":{"total_tokens":3}')
    data = orjson.loads(with_content)
    assert fmt.chunk(data, with_content, False) == b"data: " + with_content + b"\n\n"
    unreadable = b'{"choices":[],"usage":{"total_tokens":"3"}}'
    assert fmt.chunk(orjson.loads(unreadable), unreadable, False) == \
        b"data: " + unreadable + b"\n\n"  # not the gateway's own usage chunk: forwarded


async def test_an_unreadable_usage_does_not_replace_the_one_already_noted(
        gateway: Gateway) -> None:
    odd = b'{"choices":[],"usage":{"total_tokens":"x"}}'
    ctx = await streaming_ctx(gateway, Upstream(USAGE, odd), include_usage=True)
    parts = await read_all(await open_stream(ctx))
    error = error_of(parts[-1])
    assert error["code"] == "upstream_invalid"
    assert error["message"].startswith("provider 'tappass' answered with")  # who sent it
    assert (await gateway.event(ctx.audit_id))["usage"]["total_tokens"] == 6


async def test_a_completion_that_cannot_be_written_ends_with_an_error_never_done(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    ctx = await streaming_ctx(gateway, Upstream(CONTENT))
    stream = await open_stream(ctx)

    async def disk_full(events: list[dict[str, Any]]) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(gateway.services.store, "update_audit", disk_full)
    parts = await read_all(stream)
    assert DONE not in parts
    error = error_of(parts[-1])
    assert (error["type"], error["code"], error["retryable"], error["audit_id"]) == (
        "storage_error", "audit_unavailable", True, ctx.audit_id)
    assert error["message"] == AUDIT_UNAVAILABLE
    assert (await gateway.event(ctx.audit_id))["status"] == "open"
    assert [r.getMessage() for r in caplog.records if r.name == "tappass.server"] == [
        f"audit event {ctx.audit_id} stays open: completing it failed: disk full"]
    assert len(gateway.services.streams) == 0  # not completed again at shutdown
    assert await stream.complete({"status": "allowed"})  # once done, never written again


async def test_in_anthropic_format_a_failed_completion_is_an_api_error_event(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = await streaming_ctx(gateway, Upstream(CONTENT))
    stream = await open_stream(ctx)

    async def disk_full(events: list[dict[str, Any]]) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(gateway.services.store, "update_audit", disk_full)
    parts = await read_all(stream, AnthropicStream())
    error = anthropic_error_of(parts[-1])
    assert (error["type"], error["code"], error["retryable"]) == (
        "api_error", "audit_unavailable", True)  # a 503, not a timeout


@pytest.fixture
def output_scan_blocks() -> Iterator[None]:
    with implemented("output_scan", BlockAnswer):  # before the gateway compiles pipelines
        yield


@pytest.mark.parametrize("anthropic", [False, True])
async def test_a_block_after_the_answer_streamed_is_a_403_error_event_audited_200(
        output_scan_blocks: None, gateway: Gateway, anthropic: bool) -> None:
    ctx = await streaming_ctx(gateway, Upstream(CONTENT), preset="standard")
    parts = await read_all(await open_stream(ctx), AnthropicStream() if anthropic else None)
    assert DONE not in parts
    if anthropic:
        error = anthropic_error_of(parts[-1])
        assert error["type"] == "permission_error"  # Anthropic's name for a 403
    else:
        error = error_of(parts[-1])
    assert (error["code"], error["step"], error["reason"]) == ("blocked", "output_scan", WITHHELD)
    event = await gateway.event(ctx.audit_id)
    # the agent already had a 200 and the answer's bytes: the audit says so
    assert (event["status"], event["http_status"], event["blocked_by"], event["reason"]) == (
        "blocked", 200, "output_scan", WITHHELD)


async def test_an_agent_going_away_completes_the_stream_as_499(
        gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    upstream = Upstream(CONTENT, CONTENT, USAGE)
    ctx = await streaming_ctx(gateway, upstream)
    stream = await open_stream(ctx)
    opened_at = (await gateway.event(ctx.audit_id))["timestamp"]
    body = cast(AsyncGenerator[bytes, None], stream_body(stream))
    assert await body.__anext__() == b"data: " + CONTENT.replace(b',"usage":null', b"") + \
        b"\n\n"
    await body.aclose()  # what the server does when the agent disconnects
    for _ in range(100):  # completed in the background: the request's task is gone
        if (await gateway.event(ctx.audit_id))["status"] != "open":
            break
        await asyncio.sleep(0.01)
    assert len(gateway.services.streams) == 0
    event = await gateway.event(ctx.audit_id)
    assert (event["status"], event["http_status"], event["error"]) == (
        "failed", 499, DISCONNECTED)
    assert event["reason"] is None and event["timestamp"] == opened_at
    await asyncio.sleep(0.01)  # the completion's done-callbacks have run
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_close_waits_for_the_completion_of_a_stream_the_agent_left(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = await streaming_ctx(gateway, Upstream(CONTENT, CONTENT))
    stream = await open_stream(ctx)
    gate = asyncio.Event()
    update = gateway.services.store.update_audit

    async def slow_update(events: list[dict[str, Any]]) -> None:
        await gate.wait()
        await update(events)

    monkeypatch.setattr(gateway.services.store, "update_audit", slow_update)
    body = cast(AsyncGenerator[bytes, None], stream_body(stream))
    await body.__anext__()
    await body.aclose()
    await asyncio.sleep(0.01)  # the completion is under way, held by the store
    closing = asyncio.ensure_future(gateway.services.streams.close())
    await asyncio.sleep(0.02)
    assert not closing.done()  # shutdown waits for it: the audit writer must not stop first
    gate.set()
    await closing
    event = await gateway.event(ctx.audit_id)
    assert (event["status"], event["http_status"]) == ("failed", 499)


async def test_shutdown_completes_every_open_stream_as_shutdown(gateway: Gateway) -> None:
    first = await open_stream(await streaming_ctx(gateway, Upstream(CONTENT)))
    ctx = first.ctx
    second_ctx = Context(audit_id=keys.new_id("ae"), services=ctx.services, agent=ctx.agent,
                         pipeline=ctx.pipeline, flags={}, session_id=None, body=ctx.body)
    second_ctx.provider, second_ctx.chunks = ctx.provider, Upstream(CONTENT)  # type: ignore
    second = await open_stream(second_ctx)
    assert len(gateway.services.streams) == 2
    await gateway.services.streams.close()
    assert len(gateway.services.streams) == 0 and first.done and second.done
    for audit_id in (ctx.audit_id, second_ctx.audit_id):
        event = await gateway.event(audit_id)
        assert (event["status"], event["http_status"], event["error"], event["reason"]) == (
            "shutdown", 200, SHUT_DOWN, SHUT_DOWN)
    # a stream still being read when the gateway stops ends without a second write
    parts = await read_all(first)
    assert parts[-1] == DONE
    assert (await gateway.event(ctx.audit_id))["status"] == "shutdown"


async def test_a_provider_error_mid_stream_is_its_error_event_keeping_readable_usage(
        gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    fault = ProviderError("provider 'openai' broke the stream", status=502,
                          code="upstream_error", provider="openai",
                          usage={"prompt_tokens": 4, "total_tokens": 9})
    upstream = Upstream(CONTENT, fail=fault)
    ctx = await streaming_ctx(gateway, upstream)
    with caplog.at_level(logging.WARNING, logger="tappass.server"):
        parts = await read_all(await open_stream(ctx))
    assert DONE not in parts and upstream.closed
    assert f"request {ctx.audit_id} failed: upstream_error" in caplog.text
    error = error_of(parts[-1])
    assert (error["code"], error["type"], error["audit_id"]) == (
        "upstream_error", "upstream_error", ctx.audit_id)
    event = await gateway.event(ctx.audit_id)
    assert (event["status"], event["http_status"]) == ("failed", 502)
    assert event["reason"] == error["message"]
    assert event["usage"] == {"prompt_tokens": 4, "total_tokens": 9}


async def test_a_provider_error_keeps_the_usage_already_streamed(gateway: Gateway) -> None:
    fault = ProviderError("broke", status=502, code="upstream_error", provider="openai",
                          usage={"total_tokens": 1})
    ctx = await streaming_ctx(gateway, Upstream(USAGE, fail=fault))
    await read_all(await open_stream(ctx))
    assert (await gateway.event(ctx.audit_id))["usage"]["total_tokens"] == 6


async def test_a_fault_inside_the_gateway_is_a_500_error_event_without_internals(
        gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    upstream = Upstream(CONTENT, fail=KeyError("/srv/secret/path"))
    ctx = await streaming_ctx(gateway, upstream)
    with caplog.at_level(logging.ERROR, logger="tappass.server"):
        parts = await read_all(await open_stream(ctx))
    assert DONE not in parts and upstream.closed
    assert error_of(parts[-1]) == {
        "message": "the gateway failed while streaming; see the gateway log",
        "type": "server_error", "code": "internal_error", "param": None,
        "audit_id": ctx.audit_id, "retryable": False}
    assert b"/srv/secret" not in b"".join(parts)
    event = await gateway.event(ctx.audit_id)
    assert (event["status"], event["http_status"], event["error"], event["reason"]) == (
        "failed", 500, "internal error while streaming (see the gateway log)",
        "the gateway failed while streaming; see the gateway log")
    [record] = [r for r in caplog.records if r.name == "tappass.server"]
    assert record.getMessage() == f"stream {ctx.audit_id} failed inside the gateway"
    assert "/srv/secret/path" in caplog.text  # the cause is for the admin, in the log


async def test_in_anthropic_format_a_fault_inside_the_gateway_is_an_api_error_event(
        gateway: Gateway) -> None:
    ctx = await streaming_ctx(gateway, Upstream(CONTENT, fail=KeyError("x")))
    parts = await read_all(await open_stream(ctx), AnthropicStream())
    error = anthropic_error_of(parts[-1])
    assert (error["type"], error["code"], error["retryable"]) == (
        "api_error", "internal_error", False)


async def test_a_broken_upstream_close_does_not_hide_the_outcome(
        gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    class BadClose(Upstream):
        async def aclose(self) -> None:
            raise OSError("connection reset")

    ctx = await streaming_ctx(gateway, BadClose(CONTENT))
    with caplog.at_level(logging.DEBUG, logger="tappass.server"):
        parts = await read_all(await open_stream(ctx))
    assert parts[-1] == DONE
    assert (await gateway.event(ctx.audit_id))["status"] == "allowed"
    [record] = [r for r in caplog.records if "closing the upstream" in r.getMessage()]
    assert record.getMessage() == f"closing the upstream stream of {ctx.audit_id} failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], OSError)


async def test_an_upstream_without_aclose_still_ends_the_stream(gateway: Gateway) -> None:
    ctx = await streaming_ctx(gateway, NoClose(CONTENT))
    parts = await read_all(await open_stream(ctx))
    assert parts[-1] == DONE
    assert (await gateway.event(ctx.audit_id))["status"] == "allowed"


async def test_in_anthropic_format_an_upstream_timeout_is_a_timeout_error_event(
        gateway: Gateway) -> None:
    fault = ProviderError("provider 'openai' stalled", status=504, code="upstream_timeout",
                          provider="openai")
    ctx = await streaming_ctx(gateway, Upstream(CONTENT, fail=fault))
    parts = await read_all(await open_stream(ctx), AnthropicStream())
    error = anthropic_error_of(parts[-1])
    assert (error["type"], error["code"]) == ("timeout_error", "upstream_timeout")


async def test_a_messages_stream_is_written_in_anthropics_events(gateway: Gateway) -> None:
    key = await gateway.add_agent(name="claude")
    response = await gateway.client.post(
        "/v1/messages", headers={"x-api-key": key}, json={
            "model": "tappass/echo", "max_tokens": 50, "stream": True,
            "messages": [{"role": "user", "content": "hello"}]})
    assert response.status_code == 200
    kinds = [e.split("\n", 1)[0] for e in response.text.split("\n\n") if e]
    assert kinds[0] == "event: message_start" and kinds[-1] == "event: message_stop"
    assert "data: [DONE]" not in response.text


async def test_shutdown_goes_on_when_a_background_completion_failed_unexpectedly(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = await streaming_ctx(gateway, Upstream(CONTENT, CONTENT))
    stream = await open_stream(ctx)
    gate = asyncio.Event()

    async def broken(event: dict[str, Any]) -> None:
        await gate.wait()
        raise RuntimeError("a bug, not a storage error")

    monkeypatch.setattr(gateway.services.audit, "complete", broken)
    body = cast(AsyncGenerator[bytes, None], stream_body(stream))
    await body.__anext__()
    await body.aclose()  # the agent left: completed in the background...
    await asyncio.sleep(0.01)
    closing = asyncio.ensure_future(gateway.services.streams.close())
    await asyncio.sleep(0.01)
    gate.set()  # ...where it fails while shutdown waits for it
    await closing  # must not raise: the audit writer is stopped next
    assert stream.done and len(gateway.services.streams) == 0


# --- governed streams (a pipeline whose after phase reads the answer) ------------------

SECRET = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"


def text_chunk(content: str, *, spaced: bool = False) -> bytes:
    data = {"id": "c1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": content}}]}
    if spaced:   # as Python's json module writes it: a gateway that re-encodes changes bytes
        import json
        return json.dumps(data).encode()
    return orjson.dumps(data)


def after_step(event: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in event["steps"] if s["step"] == step_id and s["phase"] == "after")


async def test_a_failed_governed_stream_still_records_what_its_steps_saw(
        gateway: Gateway) -> None:
    upstream = Upstream(text_chunk("The token is " + SECRET + " and more text follows. " * 20),
                        fail=ProviderError("upstream went away", status=502))
    ctx = await streaming_ctx(gateway, upstream, preset="standard")
    parts = await read_all(await open_stream(ctx))
    assert error_of(parts[-1])["code"] == "upstream_error"
    assert SECRET not in b"".join(parts).decode()
    event = await gateway.event(ctx.audit_id)
    assert event["status"] == "failed"
    assert after_step(event, "detect_secrets")["verdict"] == "transform"


async def test_a_governed_stream_the_agent_left_records_what_its_steps_saw(
        gateway: Gateway) -> None:
    filler = "Plain words that pass the scan without any finding at all. " * 12
    upstream = Upstream(text_chunk(filler + "The token is " + SECRET + ". " + filler),
                        text_chunk(filler))
    ctx = await streaming_ctx(gateway, upstream, preset="standard")
    stream = await open_stream(ctx)
    body = cast(AsyncGenerator[bytes, None], stream_body(stream))
    await body.__anext__()
    await body.aclose()   # the agent went away
    for _ in range(100):
        if (await gateway.event(ctx.audit_id))["status"] != "open":
            break
        await asyncio.sleep(0.01)
    event = await gateway.event(ctx.audit_id)
    assert event["http_status"] == 499
    assert after_step(event, "detect_secrets")["verdict"] == "transform"


async def test_a_governed_stream_forwards_the_usage_chunk_as_received(
        gateway: Gateway) -> None:
    spaced_usage = b'{"id": "c1", "object": "chat.completion.chunk", "choices": [], ' \
                   b'"usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}'
    ctx = await streaming_ctx(gateway, Upstream(text_chunk("hello"), spaced_usage),
                              include_usage=True, preset="standard")
    parts = await read_all(await open_stream(ctx))
    assert b"data: " + spaced_usage + b"\n\n" in parts     # its bytes, not re-encoded


async def test_chunks_sent_when_the_upstream_ends_without_finishing_keep_usage_null(
        gateway: Gateway) -> None:
    ctx = await streaming_ctx(gateway, Upstream(text_chunk("short answer")),
                              include_usage=True, preset="standard")
    parts = await read_all(await open_stream(ctx))
    chunks = [orjson.loads(p.removeprefix(b"data: ")) for p in parts if p != DONE]
    assert chunks and all(c["usage"] is None for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == \
        "short answer"


async def test_a_gateway_fault_before_the_governor_exists_is_an_error_event(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    from tappass.server import stream_governor

    def broken(ctx: Context) -> None:
        raise RuntimeError("governor could not be built")

    monkeypatch.setattr(stream_governor.StreamGovernor, "of", staticmethod(broken))
    ctx = await streaming_ctx(gateway, Upstream(CONTENT), preset="standard")
    parts = await read_all(await open_stream(ctx))
    assert error_of(parts[-1])["code"] == "internal_error"
    assert (await gateway.event(ctx.audit_id))["http_status"] == 500
