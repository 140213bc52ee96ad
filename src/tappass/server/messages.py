"""`POST /v1/messages`: Anthropic's Messages API, governed by the same pipeline.

The Anthropic SDK (and tools built on it) work with only a base URL change: the agent's
`tp_` key comes as `x-api-key` (or a bearer token), the body is checked and read into the
same chat-completions request every step sees, and the answer, the stream events and every
error are written back in Anthropic's shapes (`{"type": "error", "error": {"type",
"message"}}`, with the gateway's `code` and `audit_id` beside them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tappass.errors import RequestError
from tappass.providers.anthropic_wire import (
    OpenAIToAnthropic,
    anthropic_answer,
    openai_request,
    sse_event,
)
from tappass.server.auth import bearer
from tappass.server.openai import governed
from tappass.server.responses import JSON, parse_json_object
from tappass.server.streaming import StreamFormat

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
               402: "billing_error", 403: "permission_error", 404: "not_found_error",
               413: "request_too_large", 429: "rate_limit_error", 504: "timeout_error",
               529: "overloaded_error"}


def _fail(field: str, expected: str) -> RequestError:
    return RequestError(f"{field}: expected {expected}", field=field)


def _check_content(where: str, content: Any) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _fail(where, "a string or a list of content blocks")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _fail(f"{where}[{j}]", "an object with a 'type'")
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            raise _fail(f"{where}[{j}].text", "a string")


def check_messages_request(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise _fail("model", "a model name such as 'claude-sonnet-4-20250514'")
    limit = body.get("max_tokens")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise _fail("max_tokens", "a positive integer")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _fail("messages", "a non-empty list of messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise _fail(f"messages.{i}.role", "'user' or 'assistant'")
        _check_content(f"messages.{i}.content", message.get("content"))
    if body.get("system") is not None:
        _check_content("system", body["system"])
    if "stream" in body and not isinstance(body["stream"], bool | None):
        raise _fail("stream", "true or false")
    if body.get("tools") is not None and not isinstance(body["tools"], list):
        raise _fail("tools", "a list of tool definitions")


def anthropic_error(body: dict[str, Any], status: int) -> dict[str, Any]:
    """The gateway's OpenAI error envelope in Anthropic's error shape."""
    error = dict(body.get("error") or {})
    message = str(error.pop("message", ""))
    error.pop("type", None)
    error.pop("param", None)
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    out: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message,
                                                      **error}}
    if error.get("audit_id"):
        out["request_id"] = error["audit_id"]
    return out


class AnthropicStream:
    """Anthropic's named SSE events; the usage chunk is read into `message_delta`."""

    def __init__(self) -> None:
        self._events = OpenAIToAnthropic()

    def chunk(self, data: dict[str, Any], payload: bytes, wants_usage: bool) -> bytes:
        return b"".join(self._events.feed(data))

    def done(self) -> bytes:
        return self._events.finish()

    def error(self, body: dict[str, Any], status: int) -> bytes:
        return sse_event("error", anthropic_error(body, status))


class AnthropicShape:
    def token(self, request: Request) -> str | None:
        key = request.headers.get("x-api-key")
        return key.strip() if key and key.strip() else bearer(request)

    def parse(self, raw: bytes) -> dict[str, Any]:
        body = parse_json_object(raw)
        check_messages_request(body)
        return openai_request(body)

    def reply(self, body: dict[str, Any], status: int,
              headers: dict[str, str] | None = None) -> Response:
        return JSON(anthropic_error(body, status), status_code=status, headers=headers)

    def answer(self, ctx: Context) -> bytes:
        return orjson.dumps(anthropic_answer(ctx.response or {}))

    def stream(self) -> StreamFormat:
        return AnthropicStream()


ANTHROPIC = AnthropicShape()


async def messages(request: Request) -> Response:
    """Anthropic Messages API (governed; answers and errors in Anthropic's shapes)."""
    return await governed(request, ANTHROPIC)
