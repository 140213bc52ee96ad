"""Any OpenAI-compatible upstream: OpenAI itself, vLLM, LM Studio, Ollama's `/v1`.

One pooled aiohttp session per provider, created on first use inside the running loop.
Upstream failures become ProviderError with the status the agent should see: the
provider's own 400/404/409/413/422 pass through (they describe the agent's request), a 429
passes through with its `Retry-After`, a rejected provider key or a 5xx becomes 502, a
timeout 504, an answer of the wrong shape 502 `upstream_invalid`. Messages never name the
upstream URL; `detail` (for the log and the audit event) does.

Timeouts: a whole non-streamed call, connect to last byte, is bounded by `timeout`. A stream
must send its first chunk within `first_byte_timeout` and then never fall silent for longer
than `idle_timeout` between two chunks, however slowly the bytes drip.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson

from tappass.errors import ProviderError, ProviderTimeout
from tappass.providers.answers import check_answer, retry_after_seconds

_PASS_THROUGH = frozenset({400, 404, 409, 413, 422})


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
                 first_byte_timeout: float = 60.0, idle_timeout: float = 60.0,
                 max_connections: int = 100) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout)
        self._first_byte_timeout = first_byte_timeout
        self._idle_timeout = idle_timeout
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300,
                                             keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._headers,
                json_serialize=lambda obj: orjson.dumps(obj).decode(), auto_decompress=True)
        return self._session

    def _timed_out(self, what: str) -> ProviderTimeout:
        return ProviderTimeout(f"provider {self.name!r} {what}", provider=self.name)

    def _broken(self, what: str, exc: BaseException) -> ProviderError:
        return ProviderError(f"provider {self.name!r} {what}", provider=self.name,
                             retryable=True,
                             detail=f"{self.base_url}: {type(exc).__name__}: {exc}")

    async def _post(self, body: dict[str, Any],
                    timeout: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        url = f"{self.base_url}/chat/completions"
        try:
            response = await self._client().post(url, data=orjson.dumps(body), timeout=timeout)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise self._timed_out("did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise self._broken("could not be reached", exc) from None
        if response.status >= 400:
            try:
                raw = await response.read()
            except (TimeoutError, aiohttp.ClientError):
                raw = b""
            finally:
                response.release()
            raise self._status_error(response.status, raw, response.headers)
        return response

    def _status_error(self, status: int, raw: bytes,
                      headers: Mapping[str, str] | None = None) -> ProviderError:
        message = _upstream_message(raw)
        if status in _PASS_THROUGH:
            return ProviderError(f"provider {self.name!r}: {message}", status=status,
                                 upstream_status=status, code="upstream_rejected",
                                 provider=self.name)
        if status == 429:
            return ProviderError(
                f"provider {self.name!r} is rate limiting the gateway: {message}", status=429,
                upstream_status=429, code="upstream_rate_limited", provider=self.name,
                retry_after=retry_after_seconds(headers.get("Retry-After") if headers else None))
        if status in (401, 403):
            return ProviderError(f"provider {self.name!r} rejected the gateway's credentials "
                                 f"(HTTP {status}); an administrator must check the provider "
                                 f"key", status=502, upstream_status=status,
                                 code="upstream_auth_failed", provider=self.name)
        return ProviderError(f"provider {self.name!r} failed with HTTP {status}", status=502,
                             upstream_status=status, provider=self.name, retryable=True,
                             detail=f"{self.base_url}: HTTP {status}: {message}")

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        response = await self._post(body, self._timeout)
        try:
            raw = await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise self._timed_out("did not finish its answer in time") from None
        except aiohttp.ClientError as exc:
            raise self._broken("broke the connection", exc) from None
        finally:
            response.release()
        return check_answer(self.name, raw), raw

    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        first_byte = asyncio.get_running_loop().time() + self._first_byte_timeout
        try:
            async with asyncio.timeout_at(first_byte):
                response = await self._post(body, self._stream_timeout)
        except TimeoutError:
            raise self._timed_out("did not start streaming in time") from None
        return self._events(response, first_byte)

    async def _events(self, response: aiohttp.ClientResponse,
                      first_byte: float) -> AsyncIterator[bytes]:
        """Yield each `data:` payload; stop at `[DONE]` or the end of the body."""
        loop = asyncio.get_running_loop()
        deadline = first_byte
        try:
            while True:
                async with asyncio.timeout_at(deadline):
                    line = await response.content.readline()
                if not line:
                    return
                if not line.startswith(b"data:"):
                    continue  # blank separators, comments, `event:` lines
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    return
                if payload:
                    yield payload
                    deadline = loop.time() + self._idle_timeout
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise self._timed_out("stopped streaming (no chunk in time)") from None
        except aiohttp.ClientError as exc:
            raise self._broken("broke the stream", exc) from None
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
