"""Closed-loop HTTP/1.1 load generator for the benchmark: raw keep-alive sockets on uvloop.

`run_cell()` opens `concurrency` persistent connections to one target, primes each with a
few untimed requests, then sends `requests` identical precomputed requests split over the
connections, each connection waiting for its answer before sending the next (closed loop).
Latency is taken from just before the request is written to the moment httptools reports
the response complete (inside `data_received`, so the client's task scheduling is not in
it). The client does the same work per request for every target, so its cost cancels in
"gateway minus direct".

For streams, the time to first token is also taken: from the same start to the first body
bytes that carry a content delta (`"delta":{"content":`; the role chunk does not count).

A request is an error when the status is not 200, the body fails the cell's check
(`body_marker` for JSON, the `data: [DONE]` ending for streams), the connection breaks,
or no answer comes within `timeout` seconds. Errors are counted, never dropped.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

STREAM_END = b"data: [DONE]\n\n"
CONTENT_DELTA = b'"delta":{"content":'
PRIME_PER_CONNECTION = 3


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send, what to send, and how to recognise a good answer."""

    name: str
    host: str
    port: int
    request: bytes          # a complete HTTP/1.1 request, sent as is
    body_marker: bytes      # must occur in a good body
    stream: bool = False    # a good body also ends with `data: [DONE]`


@dataclass(slots=True)
class CellResult:
    latencies_ns: list[int] = field(default_factory=list)
    first_token_ns: list[int] = field(default_factory=list)   # streams only
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    sent: int = 0           # requests sent, the untimed priming ones included

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{kind}: {detail}"[:300])


def build_request(url: str, body: bytes, headers: dict[str, str]) -> tuple[str, int, bytes]:
    """(host, port, raw request bytes) for a POST of `body` to `url`."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [f"POST {parts.path or '/'} HTTP/1.1", f"host: {host}:{port}",
             "content-type: application/json", f"content-length: {len(body)}",
             "connection: keep-alive", *(f"{k}: {v}" for k, v in headers.items())]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class ClientProtocol(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[int, int, bytes]] | None = None
        self._body: list[bytes] = []
        self._start = 0
        self.first_token_ns = 0   # of the request in flight; 0 until a content delta came
        self.reusable = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # TCP_NODELAY is the default

    def send(self, request: bytes) -> asyncio.Future[tuple[int, int, bytes]]:
        """Write `request`; the future gives (status, latency ns, body)."""
        assert self._transport is not None and self._waiter is None
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        self._body = []
        self.first_token_ns = 0
        self._start = time.perf_counter_ns()
        self._transport.write(request)
        return waiter

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad HTTP response: {exc}"))

    def on_body(self, body: bytes) -> None:
        if not self.first_token_ns and CONTENT_DELTA in body:
            self.first_token_ns = time.perf_counter_ns() - self._start
        self._body.append(body)

    def on_message_complete(self) -> None:
        elapsed = time.perf_counter_ns() - self._start
        self.reusable = self._parser.should_keep_alive()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._parser.get_status_code(), elapsed, b"".join(self._body)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._transport = None
        self._fail(ConnectionError(f"connection closed: {exc or 'by the server'}"))

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def _connect(target: Target) -> ClientProtocol:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(ClientProtocol, target.host, target.port)
    return protocol


def _check(target: Target, status: int, body: bytes) -> str | None:
    """None for a good answer, else the error kind."""
    if status != 200:
        return f"http_{status}"
    if target.body_marker not in body or (target.stream and not body.endswith(STREAM_END)):
        return "bad_body"
    return None


async def _one(conn: ClientProtocol, target: Target,
               timeout: float) -> tuple[str | None, int, bytes]:
    """(error kind or None, latency ns, body) of one request on `conn`."""
    try:
        async with asyncio.timeout(timeout):
            status, elapsed, body = await conn.send(target.request)
    except TimeoutError:
        conn.reusable = False
        return "timeout", 0, b""
    except ConnectionError as exc:
        return "connection", 0, str(exc).encode()
    return _check(target, status, body), elapsed, body


async def _worker(target: Target, quota: list[int], result: CellResult, timeout: float,
                  conn: ClientProtocol) -> None:
    """Take requests from the shared quota until it is empty; reconnect when needed."""
    while quota[0] > 0:
        quota[0] -= 1
        if not conn.reusable:
            conn.close()
            try:
                conn = await _connect(target)
            except OSError as exc:
                result.error("connect", str(exc))
                continue
        result.sent += 1
        kind, elapsed, body = await _one(conn, target, timeout)
        if kind is None:
            result.latencies_ns.append(elapsed)
            if target.stream:
                result.first_token_ns.append(conn.first_token_ns or elapsed)
        else:
            result.error(kind, body[:200].decode("utf-8", "replace"))
    conn.close()


async def _prime(conns: list[ClientProtocol], target: Target, timeout: float,
                 result: CellResult) -> None:
    """Untimed requests on each connection so the timed ones start warm."""
    async def prime(conn: ClientProtocol) -> None:
        for _ in range(PRIME_PER_CONNECTION):
            result.sent += 1
            kind, _, body = await _one(conn, target, timeout)
            if kind is not None:
                result.error(f"prime_{kind}", body[:200].decode("utf-8", "replace"))
                return
    await asyncio.gather(*(prime(conn) for conn in conns))


async def run_cell(target: Target, concurrency: int, requests: int,
                   timeout: float = 30.0) -> CellResult:
    """Measure `requests` requests to `target` over `concurrency` keep-alive connections.

    The client's garbage collector is paused while timing, so its pauses do not land on
    one target more than another.
    """
    result = CellResult()
    try:
        conns = [await _connect(target) for _ in range(concurrency)]
    except OSError as exc:
        result.error("connect", str(exc))
        result.errors["connect"] += requests - 1
        return result
    await _prime(conns, target, timeout, result)
    quota = [requests]
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        await asyncio.gather(*(_worker(target, quota, result, timeout, conn) for conn in conns))
        result.wall_s = time.perf_counter() - start
    finally:
        gc.enable()
        for conn in conns:
            conn.close()
    return result
