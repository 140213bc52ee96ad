"""Anthropic's Messages API as a provider: `claude-*` models.

The chat-completions body is translated to a Messages request (`anthropic_wire`), sent with
`x-api-key` and `anthropic-version`, and the answer or the named stream events are
translated back to OpenAI's shape. A mid-stream `error` event (e.g. `overloaded_error`)
ends the stream as a retryable provider failure.
"""

from __future__ import annotations

from typing import Any

import orjson

from tappass.errors import ProviderError
from tappass.providers.answers import invalid
from tappass.providers.anthropic_wire import AnthropicToOpenAI, openai_answer, to_anthropic_request
from tappass.providers.http import Call, upstream_message
from tappass.providers.openai_compat import KeySource

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_URL = "https://api.anthropic.com"


def parse_object(provider: str, raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid(provider, f"{what} that is not JSON") from None
    if not isinstance(data, dict):
        raise invalid(provider, f"{what} that is a JSON {type(data).__name__}")
    return data


class AnthropicReader:
    def __init__(self, provider: str, model: str) -> None:
        self._provider = provider
        self._stream = AnthropicToOpenAI(model)

    def feed(self, event: str | None, payload: bytes) -> list[bytes]:
        data = parse_object(self._provider, payload, "a stream event")
        if data.get("type") == "error":
            raise ProviderError(f"provider {self._provider!r} failed mid-stream: "
                                f"{upstream_message(payload)}", provider=self._provider,
                                retryable=True, detail=f"stream error event: {payload[:300]!r}")
        return self._stream.feed(data)

    def close(self) -> list[bytes]:
        return []


class AnthropicDialect:
    framing = "sse"

    def __init__(self, base_url: str, key: KeySource) -> None:
        self._url = f"{base_url.rstrip('/')}/v1/messages"
        self._key = key

    def call(self, body: dict[str, Any], *, stream: bool) -> Call:
        headers = {"Content-Type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        key = self._key()
        if key:
            headers["x-api-key"] = key
        request = to_anthropic_request(body, str(body["model"]))
        return Call(self._url, orjson.dumps(request), headers)

    def answer(self, provider: str, raw: bytes, model: str) -> tuple[dict[str, Any], bytes]:
        data = parse_object(provider, raw, "an answer")
        if not isinstance(data.get("content"), list):
            raise invalid(provider, "an answer without a 'content' list")
        answer = openai_answer(data, model)
        return answer, orjson.dumps(answer)

    def reader(self, provider: str, model: str) -> AnthropicReader:
        return AnthropicReader(provider, model)
