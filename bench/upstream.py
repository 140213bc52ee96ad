"""A fixed-response OpenAI-compatible upstream for the benchmark, as cheap as possible.

`python bench/upstream.py --port N` serves HTTP/1.1 with keep-alive on 127.0.0.1 from a raw
`asyncio.Protocol` on uvloop, parsing with httptools (llhttp, C). Every answer is a
precomputed byte string, so the upstream costs a few tens of microseconds per request and
does not dominate what the benchmark measures (the gateway's own cost).

- `POST /v1/chat/completions` -> a fixed `chat.completion` JSON with usage;
  with `"stream": true` a short fixed SSE stream (chunked) ending in `data: [DONE]`, plus
  the usage chunk when `stream_options.include_usage` is true (the gateway asks for it).
- `GET /health` -> 200 `ok`; `GET /v1/models` -> one model; anything else -> 404.

The request body is not parsed as JSON: the stream flags are found by a byte search that
accepts both compact and spaced JSON (`"stream":true` / `"stream": true`).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import cast

import httptools
import orjson
import uvloop

HOST = "127.0.0.1"
COMPLETION_ID = "chatcmpl-bench"
MODEL = "gpt-4o-mini-2024-07-18"
CREATED = 1700000000
USAGE = {"prompt_tokens": 480, "completion_tokens": 24, "total_tokens": 504}
ANSWER = ("Here is a short summary of the quarterly planning notes: the team will focus on "
          "reliability work and on the onboarding guide.")
STREAM_PIECES = ("Here is a short summary ", "of the quarterly planning notes: ",
                 "reliability and onboarding.")


def _response(status: str, content_type: bytes, body: bytes, keep_alive: bool) -> bytes:
    connection = b"keep-alive" if keep_alive else b"close"
    head = (b"HTTP/1.1 " + status.encode() + b"\r\ncontent-type: " + content_type
            + b"\r\ncontent-length: " + str(len(body)).encode()
            + b"\r\nconnection: " + connection + b"\r\n\r\n")
    return head + body


def _chunked(content_type: bytes, parts: list[bytes], keep_alive: bool) -> bytes:
    connection = b"keep-alive" if keep_alive else b"close"
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type
            + b"\r\ntransfer-encoding: chunked\r\ncache-control: no-cache\r\nconnection: "
            + connection + b"\r\n\r\n")
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    return head + body + b"0\r\n\r\n"


def completion_body() -> bytes:
    return orjson.dumps({
        "id": COMPLETION_ID, "object": "chat.completion", "created": CREATED, "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER,
                                             "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": USAGE})


def stream_events(include_usage: bool) -> list[bytes]:
    """The SSE events (`data: ...\\n\\n`) of the fixed stream, `[DONE]` last."""
    base = {"id": COMPLETION_ID, "object": "chat.completion.chunk", "created": CREATED,
            "model": MODEL, "system_fingerprint": "fp_bench"}
    tail = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        return orjson.dumps({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                  "finish_reason": finish}], **tail})

    payloads = [chunk({"role": "assistant", "content": "", "refusal": None})]
    payloads += [chunk({"content": piece}) for piece in STREAM_PIECES]
    payloads.append(chunk({}, "stop"))
    if include_usage:
        payloads.append(orjson.dumps({**base, "choices": [], "usage": USAGE}))
    payloads.append(b"[DONE]")
    return [b"data: " + payload + b"\n\n" for payload in payloads]


class Answers:
    """Every response the upstream can give, precomputed for keep-alive and close."""

    def __init__(self) -> None:
        json_type, sse_type = b"application/json", b"text/event-stream; charset=utf-8"
        models = orjson.dumps({"object": "list", "data": [
            {"id": MODEL, "object": "model", "created": CREATED, "owned_by": "bench"}]})
        not_found = orjson.dumps({"error": {"message": "not found", "type": "invalid_request_error",
                                            "param": None, "code": "not_found"}})
        self.table: dict[tuple[str, bool], bytes] = {}
        for keep in (True, False):
            self.table["completion", keep] = _response("200 OK", json_type, completion_body(),
                                                       keep)
            self.table["stream", keep] = _chunked(sse_type, stream_events(False), keep)
            self.table["stream_usage", keep] = _chunked(sse_type, stream_events(True), keep)
            self.table["health", keep] = _response("200 OK", b"text/plain", b"ok", keep)
            self.table["siem", keep] = _response("200 OK", json_type, b"{}", keep)
            self.table["models", keep] = _response("200 OK", json_type, models, keep)
            self.table["not_found", keep] = _response("404 Not Found", json_type, not_found,
                                                      keep)


def choose(method: bytes, url: bytes, body: bytes) -> str:
    """Which precomputed answer a request gets."""
    path = url.split(b"?", 1)[0]
    if method == b"POST" and path.endswith(b"/chat/completions"):
        compact = body.replace(b" ", b"") if b'": ' in body else body
        if b'"stream":true' not in compact:
            return "completion"
        return "stream_usage" if b'"include_usage":true' in compact else "stream"
    if method == b"GET" and path == b"/health":
        return "health"
    if method == b"POST" and path == b"/siem":   # the SIEM webhook of `run.py --siem`
        return "siem"
    if method == b"GET" and path.endswith(b"/models"):
        return "models"
    return "not_found"


class UpstreamProtocol(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; handles pipelined requests in order."""

    __slots__ = ("_answers", "_parser", "_transport", "_url", "_body")

    def __init__(self, answers: Answers) -> None:
        self._answers = answers
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # TCP_NODELAY is the default

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            assert self._transport is not None
            self._transport.write(self._answers.table["not_found", False])
            self._transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        keep = self._parser.should_keep_alive()
        kind = choose(self._parser.get_method(), self._url, b"".join(self._body))
        transport.write(self._answers.table[kind, keep])
        if not keep:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    answers = Answers()
    server = await loop.create_server(lambda: UpstreamProtocol(answers), HOST, port,
                                      backlog=1024, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"bench upstream on http://{HOST}:{port}/v1", file=sys.stderr, flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.port))


if __name__ == "__main__":
    main()
