"""A local OpenAI-compatible upstream for tests: speaks OpenAI's wire format, records calls.

The requested model picks the behaviour: `fail-500`, `bad-key` (401), `rate-limited`
(429), `rate-limited-retry` (429 with `Retry-After: 7`), `slow` (sleeps past any sane
timeout), `tool-caller` (answers with a tool call), `tool-from-prompt` (answers with the
tool call described by the last user text as JSON `{"name", "arguments"}`), `drip` (a whole answer one byte every
0.1 s), `stall-stream` (one chunk, then silence), `broken-chunk` (a stream chunk that is not
JSON), `slow-stream` (a chunk every 0.2 s for about 3 s), `shape-list` / `shape-string` /
`shape-usage` (answers of the wrong shape), `judge-says-WORD` (answers WORD uppercased, as
an LLM judge would), `cut-stream` (streams two chunks, then drops the
connection mid-body), `spaced-json` (answers and streams JSON with spaces after separators,
as Python's json module does), `odd-usage` (ends with a chunk that is not an object and one
whose `usage` is not), `string-counts` (ends with a usage whose token count is a string);
anything else answers "upstream says: <last user text>" with fixed
usage.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

from tests.support import fake_providers

UPSTREAM_KEY = "sk-test-upstream"
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _last_user(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return ""


def completion(body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": f"upstream says: {_last_user(body)}",
                               "refusal": None}
    finish = "stop"
    if str(body.get("model")).startswith("judge-says-"):
        message["content"] = str(body["model"]).removeprefix("judge-says-").upper()
    if body.get("model") == "tool-caller":
        message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}
        finish = "tool_calls"
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000,
            "model": body.get("model"), "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}], "usage": USAGE}


def chunks(body: dict[str, Any]) -> Iterator[bytes]:
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000,
            "model": body.get("model"), "system_fingerprint": "fp_fake"}
    tail = {"usage": None} if with_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return orjson.dumps({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                  "finish_reason": finish}], **tail})

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    for piece in ("upstream ", "says: ", _last_user(body)):
        yield chunk({"content": piece})
    yield chunk({}, "stop")
    if with_usage:
        yield orjson.dumps({**base, "choices": [], "usage": USAGE})


_WRONG_SHAPES: dict[str, Any] = {
    "shape-list": [{"choices": []}],
    "shape-string": "all good",
    "shape-usage": {"id": "chatcmpl-fake", "object": "chat.completion", "choices": [],
                    "usage": {"prompt_tokens": 10, "completion_tokens": "five",
                              "total_tokens": None}},
}


@dataclass
class FakeUpstream:
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    anthropic_keys: set[str] = field(default_factory=lambda: {fake_providers.ANTHROPIC_KEY})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if scope["path"] != "/v1/chat/completions" and not scope["path"].endswith("/models"):
            return await self._provider(scope, headers, body, send)
        if scope["path"].endswith("/models"):
            return await self._json(send, 200, {"object": "list", "data": [
                {"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "openai"},
                {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "openai"}]})
        data = orjson.loads(body)
        self.requests.append({"body": data, "headers": headers})
        if headers.get("authorization") != f"Bearer {UPSTREAM_KEY}":
            return await self._error(send, 401, "Incorrect API key provided")
        await self._answer(send, data)

    async def _provider(self, scope: dict[str, Any], headers: dict[str, str], body: bytes,
                        send: Any) -> None:
        """Anthropic, Gemini, Azure and Bedrock, in their own wire formats."""
        path, query = scope["path"], scope["query_string"].decode()
        data = orjson.loads(body)
        self.requests.append({"body": data, "headers": headers, "path": path, "query": query})
        if path.startswith("/azure/"):
            if headers.get("api-key") != fake_providers.AZURE_KEY:
                return await self._error(send, 401, "Access denied due to invalid key")
            if not fake_providers.azure_path_ok(path, query, data):
                return await self._error(send, 404, "Resource not found")
            return await self._answer(send, data)
        if path == "/v1/messages":
            reply = fake_providers.anthropic(headers, data, self.anthropic_keys)
        elif path.startswith("/gemini/"):
            reply = fake_providers.gemini(path, headers, data)
        else:
            reply = fake_providers.bedrock(path, headers, data)
        status, content_type, pieces = reply
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type.encode())]})
        for piece in pieces:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _answer(self, send: Any, data: dict[str, Any]) -> None:
        model = data.get("model")
        if model == "fail-500":
            return await self._error(send, 500, "The server had an error")
        if model == "bad-key":
            return await self._error(send, 401, "Incorrect API key provided")
        if model == "rate-limited":
            return await self._error(send, 429, "Rate limit reached for requests")
        if model == "rate-limited-retry":
            return await self._error(send, 429, "Rate limit reached", [(b"retry-after", b"7")])
        if model == "slow":
            await asyncio.sleep(5)
        if model in _WRONG_SHAPES:
            return await self._json(send, 200, _WRONG_SHAPES[model])
        if model == "drip":
            return await self._drip(send, orjson.dumps(completion(data)))
        if data.get("stream"):
            return await self._stream(send, data)
        if model == "spaced-json":
            return await self._raw(send, 200, json.dumps(completion(data)).encode())
        if model == "tool-from-prompt":  # the last user text is {"name": ..., "arguments": {...}}
            answer, wanted = completion({**data, "model": "tool-caller"}), orjson.loads(
                _last_user(data))
            answer["choices"][0]["message"]["tool_calls"][0]["function"] = {
                "name": wanted["name"], "arguments": orjson.dumps(wanted["arguments"]).decode()}
            return await self._json(send, 200, answer)
        await self._json(send, 200, completion(data))

    async def _stream(self, send: Any, data: dict[str, Any]) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream; charset=utf-8")]})
        model = data.get("model")
        events = list(chunks(data))
        if model == "broken-chunk":
            events.insert(2, b'{"id": "chatcmpl-fake", "choices": [{"delta": ')
        if model == "slow-stream":
            events[1:1] = [events[1]] * 14
        for i, payload in enumerate(events):
            if i == 2 and model == "cut-stream":
                raise ConnectionAbortedError("fake upstream cuts the stream (on purpose)")
            if model == "spaced-json":
                payload = json.dumps(orjson.loads(payload)).encode()
            await send({"type": "http.response.body", "body": b"data: " + payload + b"\n\n",
                        "more_body": True})
            if model == "stall-stream" and i == 0:
                await asyncio.sleep(5)
            if model == "slow-stream":
                await asyncio.sleep(0.2)
        if model == "odd-usage":
            for odd in (b'["usage"]', b'{"choices":[],"usage":"n/a"}'):
                await send({"type": "http.response.body", "body": b"data: " + odd + b"\n\n",
                            "more_body": True})
        if model == "string-counts":
            odd = b'{"choices":[],"usage":{"prompt_tokens":"10","completion_tokens":5}}'
            await send({"type": "http.response.body", "body": b"data: " + odd + b"\n\n",
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})

    async def _drip(self, send: Any, body: bytes) -> None:
        """The whole answer, one byte every 0.1 s: every read is quick, the answer is not."""
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        for i in range(len(body)):
            await send({"type": "http.response.body", "body": body[i:i + 1], "more_body": True})
            await asyncio.sleep(0.1)
        await send({"type": "http.response.body", "body": b""})

    async def _error(self, send: Any, status: int, message: str,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
        await self._json(send, status, {"error": {"message": message, "type": "invalid_request_error",
                                                  "param": None, "code": None}}, headers)

    async def _json(self, send: Any, status: int, payload: Any,
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
        await self._raw(send, status, orjson.dumps(payload), headers)

    async def _raw(self, send: Any, status: int, body: bytes,
                   headers: list[tuple[bytes, bytes]] | None = None) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), *(headers or [])]})
        await send({"type": "http.response.body", "body": body})


@contextmanager
def running_upstream() -> Iterator[FakeUpstream]:
    """Serve a FakeUpstream on a free loopback port in a background thread."""
    app = FakeUpstream()
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                            log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake upstream did not start")
        time.sleep(0.01)
    app.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
