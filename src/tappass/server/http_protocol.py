"""The HTTP protocol the gateway serves with: uvicorn's httptools protocol plus the
socket-level bounds on one request that uvicorn does not enforce itself.

- **Header size** (`TAPPASS_MAX_HEADER_BYTES`): a request head (request line and headers)
  over the limit is answered 431 and the connection closed, while it is still arriving:
  httptools buffers a header value whole, so without this a 128 MB header is read.
- **Header deadline** (`TAPPASS_HEADER_TIMEOUT`): a connection that has not sent a complete
  request head within this time of connecting, or of the head's first byte, is answered 408
  and closed (closed silently when it sent nothing).
- **Body deadline** (`TAPPASS_BODY_TIMEOUT`): a body still incomplete this long after its
  head is answered 408 and closed; the application sees a disconnect.
- **Connections per worker** (`TAPPASS_MAX_CONNECTIONS`): a connection beyond the cap gets
  503 with `Retry-After` to its request, then is closed; connections within the cap keep
  working (uvicorn's own `limit_concurrency` would refuse every connection's requests).

A response whose body has a `Content-Length` leaves in one write, head and body together
(uvicorn writes them apart): one `send()` and one TCP segment per answer instead of two.

The idle keep-alive timeout is uvicorn's own (`timeout_keep_alive`). The body size limit is
in the application (`tappass.server.body_limit`), so it holds under any server. Timers are
armed only while a head or body spans reads: a request that arrives in one read costs none.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from tappass.server.responses import error_body
from tappass.settings import Settings, load_settings

log = logging.getLogger("tappass.http")

CAP_WARNING_EVERY = 10.0  # seconds between two "connection cap reached" warnings


@dataclass
class Limits:
    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    max_connections: int
    last_cap_warning: float = 0.0

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(max_header_bytes=s.max_header_bytes, header_timeout=s.header_timeout,
                   body_timeout=s.body_timeout, max_connections=s.max_connections)


def limits_for(config: Config) -> Limits:
    """The limits of this worker, read from the settings once and kept on its config."""
    limits: Limits | None = getattr(config, "tappass_limits", None)
    if limits is None:
        limits = Limits.from_settings(load_settings())
        config.tappass_limits = limits  # type: ignore[attr-defined]
    return limits


def raw_response(status: int, message: str, *, code: str, type: str = "invalid_request_error",
                 headers: tuple[bytes, ...] = ()) -> bytes:
    """A complete `Connection: close` response in OpenAI's error shape, as bytes."""
    body = orjson.dumps(error_body(message, type=type, code=code))
    head = [STATUS_LINE[status], b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body), b"connection: close\r\n", *headers, b"\r\n"]
    return b"".join(head) + body


class _OneWriteResponse:
    """The transport as one request's cycle sees it. A response head whose body has a
    Content-Length is held until the body's first write and goes out with it (a complete
    answer is written head then body in the same step of its task); a head of a chunked or
    empty body, a HEAD answer and everything else pass straight through."""

    __slots__ = ("_transport", "_cycle", "_head_pending", "_held")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head_pending = True  # the first write once the response started is its head
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._held is not None:
            data, self._held = self._held + data, None
        elif self._head_pending and self._cycle.response_started:
            self._head_pending = False
            cycle = self._cycle
            if (cycle.chunked_encoding is False and cycle.expected_content_length > 0
                    and cycle.scope["method"] != "HEAD"):
                self._held = data
                return
        self._transport.write(data)

    def close(self) -> None:
        if self._held is not None:  # a body that never came: the head still goes first
            self._transport.write(self._held)
            self._held = None
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


class TapPassHttpProtocol(HttpToolsProtocol):
    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits_for(config)
        self._deadline: asyncio.TimerHandle | None = None
        self._in_head = False      # between a request's first byte and the end of its head
        self._in_body = False      # between the end of its head and the end of its body
        self._head_bytes = 0       # upper bound of the current head's size so far
        self._feeding = 0          # size of the read being parsed
        self._read_body = 0        # body bytes parsed from that read
        self._refused = False      # a refusal was written: ignore the rest of the input
        self._over_cap = False

    # -- connection -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._over_cap = len(self.connections) > self.limits.max_connections
        self._arm(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._head_bytes += len(data)
        self._feeding, self._read_body = len(data), 0
        super().data_received(data)
        if self._refused or self.transport.is_closing():
            return
        if self._in_head and self._head_bytes > self.limits.max_header_bytes:
            self._refuse_head_too_large()
        elif self._deadline is None:
            if self._in_head:
                self._arm(self.limits.header_timeout, self._head_timed_out)
            elif self._in_body:
                self._arm(self.limits.body_timeout, self._body_timed_out)

    # -- parser callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = self._feeding - self._read_body  # this read, from here on at most
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head, self._in_body = False, True
        self._disarm()
        if self._refused:
            return
        if self._head_bytes > self.limits.max_header_bytes and self._head_size() > \
                self.limits.max_header_bytes:
            self._refuse_head_too_large()
            return
        if self._over_cap:
            self._refuse_over_cap()
            return
        previous = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not previous:
            cycle.transport = _OneWriteResponse(self.transport, cycle)  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._read_body += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        if self._refused:
            return
        super().on_message_complete()

    def _head_size(self) -> int:
        """The size of the parsed head: request line and headers with their separators."""
        return len(self.url) + 16 + sum(len(n) + len(v) + 4 for n, v in self.headers)

    # -- deadlines --------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _server_holds_reading(self) -> bool:
        """Reading is paused by the server (queued pipelined requests, flow control): the
        client is not the one that is late."""
        return bool(self.pipeline) or self.flow.read_paused

    def _head_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._server_holds_reading():
            self._arm(self.limits.header_timeout, self._head_timed_out)
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a response is under way: close after it
            return
        if not self._in_head:  # connected but sent nothing: nothing to answer
            self.transport.close()
            return
        self._refuse(raw_response(
            408, f"request headers not received within {self.limits.header_timeout:g} s "
                 "(TAPPASS_HEADER_TIMEOUT); connection closed", code="request_timeout"))

    def _body_timed_out(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None:
            return
        if self._server_holds_reading():
            self._arm(self.limits.body_timeout, self._body_timed_out)
            return
        if cycle.response_started:
            self.transport.close()
            return
        cycle.disconnected = True  # the application's receive() now returns a disconnect
        cycle.message_event.set()
        self._refuse(raw_response(
            408, f"request body not received within {self.limits.body_timeout:g} s "
                 "(TAPPASS_BODY_TIMEOUT); connection closed", code="request_timeout"))

    # -- refusals ---------------------------------------------------------------------

    def _refuse(self, response: bytes) -> None:
        self._refused = True
        self._disarm()
        self.transport.write(response)
        self.transport.close()

    def _refuse_head_too_large(self) -> None:
        self._refuse(raw_response(
            431, f"request headers too large: the limit is {self.limits.max_header_bytes} "
                 "bytes for the request line and headers together (TAPPASS_MAX_HEADER_BYTES)",
            code="headers_too_large"))

    def _refuse_over_cap(self) -> None:
        limits = self.limits
        now = time.monotonic()
        if now - limits.last_cap_warning >= CAP_WARNING_EVERY:
            limits.last_cap_warning = now
            log.warning("connection cap reached: %d open connections in this worker "
                        "(TAPPASS_MAX_CONNECTIONS=%d); new connections get 503",
                        len(self.connections), limits.max_connections)
        self._refuse(raw_response(
            503, f"the gateway is at its limit of {limits.max_connections} open connections "
                 "per worker; retry shortly", type="server_error", code="too_many_connections",
            headers=(b"retry-after: 1\r\n",)))
