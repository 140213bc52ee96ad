"""A governed stream: audited before its first byte, completed with its outcome when it ends.

`open_stream` writes the request's audit event with status `open` (same group commit as
every other event) before any byte is sent; when that write fails the caller answers 503
and the agent gets no content. `stream_body` sends the upstream's chunks governed as they
pass (a `StreamGovernor`, see `tappass.server.stream_governor`: the after-phase steps that
govern answer text hold back only what may still change, tool calls are judged whole; a
block in enforce mode ends the stream with the blocked error event), then runs the rest of
the after phase and completes the event (allowed, blocked, failed; with usage, cost and the
streamed steps' findings) before the final `[DONE]`;
if the completion cannot be written the stream ends with an error event instead of
`[DONE]`. A stream that fails inside the gateway ends with an SSE error event (the OpenAI
SDK raises it) and is audited with its real cause. A stream cut by the agent going away is
completed as a 499; one cut by the gateway shutting down, as `shutdown`; one cut by a
crash stays `open` and is marked `interrupted` at the next start.

The agent's API decides how chunks, the end and errors are written (a `StreamFormat`:
OpenAI's SSE by default, Anthropic's named events for `/v1/messages`); the governance of a
stream is this one piece of code for both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from tappass.audit.events import event_from_context
from tappass.errors import ProviderError, StepError, StorageError
from tappass.pipeline.outcome import finish_request
from tappass.pipeline.runner import run_phase
from tappass.pipeline.step import Phase
from tappass.providers.answers import check_chunk, readable_usage
from tappass.server.failures import AUDIT_UNAVAILABLE, failure_of, log_failure
from tappass.server.responses import blocked_body, error_body
from tappass.server.stream_governor import StreamGovernor, serialise

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

log = logging.getLogger("tappass.server")

DONE = b"data: [DONE]\n\n"
DISCONNECTED = "client disconnected during the stream"
SHUT_DOWN = "the gateway shut down before the stream ended"


class OpenStreams:
    """The streams of this worker whose audit event is still `open`."""

    def __init__(self) -> None:
        self._streams: dict[str, OpenStream] = {}
        self._tasks: set[asyncio.Task[bool]] = set()
        self.shutting_down = False

    def add(self, stream: OpenStream) -> None:
        self._streams[stream.ctx.audit_id] = stream

    def discard(self, stream: OpenStream) -> None:
        self._streams.pop(stream.ctx.audit_id, None)

    def later(self, stream: OpenStream, event: dict[str, Any]) -> None:
        """Complete a stream from a `finally` that may be running under cancellation."""
        task = asyncio.get_running_loop().create_task(stream.complete(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._streams)

    async def close(self) -> None:
        """At shutdown, before the audit writer stops: every stream still open is `shutdown`."""
        self.shutting_down = True
        for stream in list(self._streams.values()):
            await stream.complete(stream.cut_event())
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class OpenStream:
    def __init__(self, ctx: Context, opened_at: str) -> None:
        self.ctx = ctx
        self.opened_at = opened_at
        self.done = False

    async def complete(self, event: dict[str, Any]) -> bool:
        """Replace the open event with the outcome; False when the write failed."""
        if self.done:
            return True
        self.done = True
        await finish_request(self.ctx)
        streams = self.ctx.services.streams
        streams.discard(self)
        event["timestamp"] = self.opened_at
        try:
            await self.ctx.services.audit.complete(event)
        except StorageError as exc:
            log.error("audit event %s stays open: completing it failed: %s",
                      self.ctx.audit_id, exc)
            return False
        return True

    def cut_event(self) -> dict[str, Any]:
        """The outcome of a stream that ended before its last chunk."""
        if self.ctx.services.streams.shutting_down:
            return event_from_context(self.ctx, status="shutdown", http_status=200,
                                      error=SHUT_DOWN, reason=SHUT_DOWN)
        return event_from_context(self.ctx, status="failed", http_status=499,
                                  error=DISCONNECTED)


async def open_stream(ctx: Context) -> OpenStream:
    """Write the `open` event; StorageError (after closing the upstream) if it fails."""
    event = event_from_context(ctx, status="open", http_status=200)
    try:
        await ctx.services.audit.record(event)
    except StorageError:
        await close_upstream(ctx)
        raise
    stream = OpenStream(ctx, event["timestamp"])
    ctx.services.streams.add(stream)
    return stream


async def close_upstream(ctx: Context) -> None:
    chunks = ctx.chunks
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing a broken upstream must not hide the real outcome
            log.debug("closing the upstream stream of %s failed", ctx.audit_id, exc_info=True)


class StreamFormat(Protocol):
    """How the agent's API writes a stream: its chunks, its end, its error event."""

    def chunk(self, data: dict[str, Any], payload: bytes, wants_usage: bool) -> bytes: ...

    def done(self) -> bytes: ...

    def error(self, body: dict[str, Any], status: int) -> bytes: ...


class OpenAIStream:
    """Chat-completions SSE: chunks forwarded as received, `[DONE]`, `data: {"error"}`."""

    def chunk(self, data: dict[str, Any], payload: bytes, wants_usage: bool) -> bytes:
        if "usage" in data and not wants_usage:
            if data.get("choices") == [] and readable_usage(data) is not None:
                return b""  # the usage chunk the gateway asked for on its own account
            payload = _strip_null_usage(payload)
        return b"data: " + payload + b"\n\n"

    def done(self) -> bytes:
        return DONE

    def error(self, body: dict[str, Any], status: int) -> bytes:
        return _sse(body)


async def stream_body(stream: OpenStream,
                      fmt: StreamFormat | None = None) -> AsyncIterator[bytes]:
    ctx = stream.ctx
    fmt = fmt or OpenAIStream()
    governor: StreamGovernor | None = None
    try:
        try:
            governor = StreamGovernor.of(ctx)
            if governor is not None:
                await governor.prepare()
            async for payload in _forwarded(ctx, fmt, governor):
                yield payload
            event, tail = await _finish(ctx, fmt, governor)
        except (ProviderError, StepError) as exc:
            _record_streamed(governor)
            event, tail = _failed(ctx, exc, fmt)
        except Exception:  # a fault in the gateway itself: still an error event, still audited
            log.exception("stream %s failed inside the gateway", ctx.audit_id)
            _record_streamed(governor)
            event, tail = _internal_error(ctx, fmt)
        await close_upstream(ctx)
        if not await stream.complete(event):
            tail = fmt.error(error_body(AUDIT_UNAVAILABLE, type="storage_error",
                                        code="audit_unavailable", audit_id=ctx.audit_id,
                                        retryable=True), 503)
        yield tail
    finally:
        if not stream.done:  # the agent went away, or the gateway is stopping
            _record_streamed(governor)
            ctx.services.streams.later(stream, stream.cut_event())


def _record_streamed(governor: StreamGovernor | None) -> None:
    if governor is not None:
        governor.record_results()


async def _forwarded(ctx: Context, fmt: StreamFormat,
                     governor: StreamGovernor | None) -> AsyncIterator[bytes]:
    """The upstream's chunks, governed, in the agent's format, usage noted; stops at a block."""
    assert ctx.chunks is not None and ctx.provider is not None
    provider = ctx.provider.name
    wants_usage = ctx.client_wants_usage
    async for payload in ctx.chunks:
        data = check_chunk(provider, payload)
        if "usage" in data:
            usage = readable_usage(data)
            if usage is not None:
                ctx.usage = usage
        if governor is None:
            out = fmt.chunk(data, payload, wants_usage)
            if out:
                yield out
            continue
        for chunk, raw in governor.feed(data, payload):
            out = fmt.chunk(chunk, serialise(chunk, raw), wants_usage)
            if out:
                yield out
        if governor.block is not None:
            return
    if governor is not None:
        for chunk, raw in governor.finish():
            yield fmt.chunk(chunk, serialise(chunk, raw), wants_usage)


def _strip_null_usage(payload: bytes) -> bytes:
    return payload.replace(b',"usage":null', b"").replace(b', "usage": null', b"")


async def _finish(ctx: Context, fmt: StreamFormat,
                  governor: StreamGovernor | None) -> tuple[dict[str, Any], bytes]:
    """The rest of the after phase (the streamed steps' outcomes recorded in their place)."""
    block = await run_phase(ctx, Phase.AFTER, governor.take_results() if governor else None)
    if governor is not None and governor.block is not None:
        block = governor.block   # a stream ended by a block: the step that ended it
    if block is None:
        return event_from_context(ctx, status="allowed", http_status=200), fmt.done()
    reason = block.decision.reason
    event = event_from_context(ctx, status="blocked", http_status=200, reason=reason,
                               blocked_by=block.step)
    return event, fmt.error(blocked_body(block.step, reason, ctx.audit_id,
                                         classification=ctx.classification), 403)


def _failed(ctx: Context, exc: ProviderError | StepError,
            fmt: StreamFormat) -> tuple[dict[str, Any], bytes]:
    failure = failure_of(exc, ctx.audit_id)
    log_failure(ctx.audit_id, failure)
    if isinstance(exc, ProviderError) and exc.usage and ctx.usage is None:
        ctx.usage = dict(exc.usage)
    event = event_from_context(ctx, status="failed", http_status=failure.status,
                               error=failure.detail, reason=failure.message)
    return event, fmt.error(error_body(failure.message, type=failure.type, code=failure.code,
                                       audit_id=ctx.audit_id, **failure.body_fields()),
                            failure.status)


def _internal_error(ctx: Context, fmt: StreamFormat) -> tuple[dict[str, Any], bytes]:
    message = "the gateway failed while streaming; see the gateway log"
    event = event_from_context(ctx, status="failed", http_status=500,
                               error="internal error while streaming (see the gateway log)",
                               reason=message)
    return event, fmt.error(error_body(message, type="server_error", code="internal_error",
                                       audit_id=ctx.audit_id, retryable=False), 500)


def _sse(body: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(body) + b"\n\n"
