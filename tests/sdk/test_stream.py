"""Streaming: SSE parsing, governance on open, errors before and after the first byte."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tappass import (
    ChatCompletionChunk,
    GatewayConnectionError,
    PolicyBlockError,
    Stream,
    UpstreamError,
)
from tappass.sdk._base import SSEDecoder
from tests.sdk.conftest import Script, blocked, chunk, sse, streamed

USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
BLOCK_EVENT = {"error": {"message": "secret in output", "type": "policy_violation",
                         "code": "blocked", "step": "detect_secrets",
                         "blocked_by": "detect_secrets", "reason": "secret in output",
                         "audit_id": "ae_mid", "classification": "RESTRICTED"}}


def _text(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_stream_yields_openai_shaped_chunks_and_governance() -> None:
    body = sse(chunk(""), chunk("Hel"), chunk("lo"), chunk(None, "stop"),
               {**chunk(None), "choices": [], "usage": USAGE}, "[DONE]")
    script = Script(streamed(body))
    stream = script.agent().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True})
    assert isinstance(stream, Stream)
    assert stream.governance.audit_id == "ae_123"
    chunks = list(stream)
    assert _text(chunks) == "Hello"
    assert chunks[3].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 5
    assert script.last_body["stream"] is True
    assert script.last_body["stream_options"] == {"include_usage": True}
    assert script.requests[0].headers["accept"] == "text/event-stream"
    assert stream.response.is_closed


def test_block_mid_stream_raises_policy_block_error_after_the_text_so_far() -> None:
    script = Script(streamed(sse(chunk("partial "), chunk("answer"), BLOCK_EVENT)))
    received: list[str] = []
    with pytest.raises(PolicyBlockError) as info:
        for piece in script.agent().chat.completions.create(model="m", messages="x",
                                                             stream=True):
            received.append(piece.choices[0].delta.content)
    assert received == ["partial ", "answer"]
    error = info.value
    assert (error.step, error.reason, error.audit_id) == (
        "detect_secrets", "secret in output", "ae_mid")
    assert error.classification == "RESTRICTED" and error.status == 403


def test_upstream_failure_mid_stream_raises_upstream_error() -> None:
    event = {"error": {"message": "provider timed out", "type": "upstream_error",
                       "code": "upstream_timeout", "audit_id": "ae_x"}}
    script = Script(streamed(sse(chunk("a"), event)))
    with pytest.raises(UpstreamError) as info:
        list(script.agent().chat.completions.create(model="m", messages="x", stream=True))
    assert info.value.status == 504 and info.value.audit_id == "ae_x"


def test_block_before_the_stream_opens_raises_with_the_body() -> None:
    script = Script(blocked())
    with pytest.raises(PolicyBlockError) as info:
        script.agent().chat.completions.create(model="m", messages="x", stream=True)
    assert info.value.step == "detect_pii"


def test_stream_is_retried_before_its_first_byte_only() -> None:
    script = Script(httpx.Response(502), streamed(sse(chunk("ok"), "[DONE]")))
    stream = script.agent(max_retries=1).chat.completions.create(
        model="m", messages="x", stream=True)
    assert _text(list(stream)) == "ok" and len(script.requests) == 2


class _Broken(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield sse(chunk("a"))
        raise httpx.RemoteProtocolError("peer closed connection")


def test_connection_lost_mid_stream_is_not_retried() -> None:
    script = Script(httpx.Response(200, stream=_Broken(),
                                   headers={"Content-Type": "text/event-stream"}))
    stream = script.agent(max_retries=3).chat.completions.create(
        model="m", messages="x", stream=True)
    assert next(stream).choices[0].delta.content == "a"
    with pytest.raises(GatewayConnectionError):
        next(stream)
    assert len(script.requests) == 1


def test_stream_without_done_ends_cleanly_and_context_manager_closes() -> None:
    script = Script(streamed(b"data: " + sse(chunk("x"))[6:-2]))  # no blank line, no [DONE]
    with script.agent().chat.completions.create(model="m", messages="x", stream=True) as s:
        assert _text(list(s)) == "x"
    assert s.response.is_closed


@pytest.mark.parametrize("lines, events", [
    (["data: a", ""], ["a"]),
    ([": keep-alive", "", "data: a", "data: b", ""], ["a\nb"]),
    (["event: message", "data:x", "id: 1", ""], ["x"]),
    (["", ""], []),
])
def test_sse_decoder(lines: list[str], events: list[str]) -> None:
    decoder = SSEDecoder()
    assert [d for line in lines if (d := decoder.feed(line)) is not None] == events
