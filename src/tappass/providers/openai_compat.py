"""Any OpenAI-compatible upstream: OpenAI itself, vLLM, LM Studio, Ollama's `/v1`.

One pooled aiohttp session per provider, created on first use inside the running loop.
Upstream failures become ProviderError with the status the agent should see: the
provider's own 400/404/422/429 pass through (they describe the agent's request), a
rejected provider key or a 5xx becomes 502, a timeout 504.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from tappass.errors import ProviderError, ProviderTimeout

_PASS_THROUGH = frozenset({400, 404, 409, 413, 422, 429})


def _upstream_message(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        if isinstance(error, str):
            return error[:500]
    except orjson.JSONDecodeError:
        pass
    return raw[:200].decode("utf-8", "replace")


class OpenAICompatibleProvider:
    def __init__(self, name: str, base_url: str, api_key: str | None = None, *,
                 timeout: float = 120.0, connect_timeout: float = 10.0,
                 max_connections: int = 100) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout,
                                              sock_read=timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300,
                                             keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, headers=self._headers,
                json_serialize=lambda obj: orjson.dumps(obj).decode(), auto_decompress=True)
        return self._session

    async def _post(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        url = f"{self.base_url}/chat/completions"
        try:
            response = await self._client().post(url, data=orjson.dumps(body))
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise ProviderTimeout(f"provider {self.name!r} did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise ProviderError(f"could not reach provider {self.name!r} at {self.base_url}: "
                                f"{type(exc).__name__}") from None
        if response.status >= 400:
            raw = await response.read()
            response.release()
            raise self._status_error(response.status, raw)
        return response

    def _status_error(self, status: int, raw: bytes) -> ProviderError:
        message = _upstream_message(raw)
        if status in _PASS_THROUGH:
            return ProviderError(f"provider {self.name!r}: {message}", status=status,
                                 upstream_status=status, code="upstream_rejected")
        if status in (401, 403):
            return ProviderError(f"provider {self.name!r} rejected the gateway's credentials "
                                 f"(HTTP {status}); check the provider key", status=502,
                                 upstream_status=status, code="upstream_auth_failed")
        return ProviderError(f"provider {self.name!r} failed with HTTP {status}: {message}",
                             status=502, upstream_status=status)

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        response = await self._post(body)
        try:
            raw = await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise ProviderTimeout(f"provider {self.name!r} stopped answering") from None
        except aiohttp.ClientError as exc:
            raise ProviderError(f"provider {self.name!r} broke the connection: "
                                f"{type(exc).__name__}") from None
        finally:
            response.release()
        try:
            return orjson.loads(raw), raw
        except orjson.JSONDecodeError:
            raise ProviderError(f"provider {self.name!r} answered with invalid JSON") from None

    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        response = await self._post(body)
        return self._events(response)

    async def _events(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        """Yield each `data:` payload; stop at `[DONE]` or the end of the body."""
        try:
            async for line in response.content:
                if not line.startswith(b"data:"):
                    continue  # blank separators, comments, `event:` lines
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    return
                if payload:
                    yield payload
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise ProviderTimeout(f"provider {self.name!r} stopped streaming") from None
        except aiohttp.ClientError as exc:
            raise ProviderError(f"provider {self.name!r} broke the stream: "
                                f"{type(exc).__name__}") from None
        finally:
            response.release()

    async def list_models(self) -> list[dict[str, Any]]:
        try:
            async with self._client().get(f"{self.base_url}/models",
                                          timeout=aiohttp.ClientTimeout(total=5)) as response:
                if response.status != 200:
                    return []
                data = orjson.loads(await response.read())
        except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError):
            return []
        models = data.get("data") if isinstance(data, dict) else None
        return [m for m in models or [] if isinstance(m, dict) and "id" in m]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
