"""The API an agent called, as the governed request path sees it.

The gateway governs one OpenAI-shaped request whatever API the agent used. An `ApiShape`
reads the agent's key and body into that shape, and writes answers, errors (given as the
gateway's OpenAI error envelope) and streams back in the agent's API: OpenAI's for
`/v1/chat/completions`, Anthropic's for `/v1/messages`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tappass.server.auth import bearer
from tappass.server.chat_request import parse_chat_request
from tappass.server.responses import JSON
from tappass.server.streaming import OpenAIStream, StreamFormat

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class ApiShape(Protocol):
    def token(self, request: Request) -> str | None: ...

    def parse(self, raw: bytes) -> dict[str, Any]:
        """The chat-completions body; RequestError naming the bad field."""

    def reply(self, body: dict[str, Any], status: int,
              headers: dict[str, str] | None = None) -> Response:
        """An error answer, from the gateway's OpenAI error envelope `{"error": {...}}`."""

    def answer(self, ctx: Context) -> bytes: ...

    def stream(self) -> StreamFormat: ...


class OpenAIShape:
    def token(self, request: Request) -> str | None:
        return bearer(request)

    def parse(self, raw: bytes) -> dict[str, Any]:
        return parse_chat_request(raw)

    def reply(self, body: dict[str, Any], status: int,
              headers: dict[str, str] | None = None) -> Response:
        return JSON(body, status_code=status, headers=headers)

    def answer(self, ctx: Context) -> bytes:
        return ctx.response_bytes or orjson.dumps(ctx.response)

    def stream(self) -> StreamFormat:
        return OpenAIStream()


OPENAI = OpenAIShape()
