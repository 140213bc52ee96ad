"""Any OpenAI-compatible upstream: OpenAI itself, vLLM, LM Studio, Ollama's `/v1`, Azure v1.

The body is sent as it is (no translation) and the answer forwarded byte for byte; only
its shape is checked. Pooling, timeouts and error mapping are `tappass.providers.http`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from tappass.providers.answers import check_answer
from tappass.providers.http import Call, HttpProvider, Timeouts

KeySource = Callable[[], str | None]


def no_key() -> str | None:
    return None


def fixed_key(key: str | None) -> KeySource:
    return lambda: key


class PassThrough:
    """Stream chunks are already OpenAI chunks: forwarded unchanged (the stream path parses
    and checks every chunk once, whichever provider sent it: `server.streaming`)."""

    def __init__(self, provider: str) -> None:
        self._provider = provider

    def feed(self, event: str | None, payload: bytes) -> list[bytes]:
        return [payload]

    def close(self) -> list[bytes]:
        return []


class OpenAIDialect:
    framing = "sse"

    def __init__(self, url: str, key: KeySource, *, header: str = "Authorization",
                 scheme: str = "Bearer ") -> None:
        self._url = url
        self._key = key
        self._header = header
        self._scheme = scheme

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = self._key()
        if key:
            headers[self._header] = f"{self._scheme}{key}"
        return headers

    def call(self, body: dict[str, Any], *, stream: bool) -> Call:
        return Call(self._url, orjson.dumps(body), self.headers())

    def answer(self, provider: str, raw: bytes, model: str) -> tuple[dict[str, Any], bytes]:
        return check_answer(provider, raw), raw

    def reader(self, provider: str, model: str) -> PassThrough:
        return PassThrough(provider)


class OpenAICompatibleProvider(HttpProvider):
    def __init__(self, name: str, base_url: str, api_key: str | KeySource | None = None, *,
                 timeouts: Timeouts | None = None) -> None:
        key = api_key if callable(api_key) else fixed_key(api_key)
        self._dialect = OpenAIDialect(f"{base_url.rstrip('/')}/chat/completions", key)
        super().__init__(name, base_url, self._dialect, timeouts)

    async def list_models(self) -> list[dict[str, Any]]:
        try:
            async with self._client().get(f"{self.base_url}/models",
                                          headers=self._dialect.headers(),
                                          timeout=aiohttp.ClientTimeout(total=5)) as response:
                if response.status != 200:
                    return []
                data = orjson.loads(await response.read())
        except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError):
            return []
        models = data.get("data") if isinstance(data, dict) else None
        return [m for m in models or [] if isinstance(m, dict) and "id" in m]
