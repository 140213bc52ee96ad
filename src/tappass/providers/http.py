"""One HTTP upstream, whatever it speaks: pooled aiohttp, timeouts, error mapping, streams.

A `Dialect` says what to send (URL, bytes, headers, the key read at the time of the call,
so a key changed in the vault is used by the next request) and how to read the answer and
the stream events back into OpenAI's chat-completions shape. Everything else is common:

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
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson
from yarl import URL

from tappass.errors import ProviderError, ProviderTimeout
from tappass.providers.answers import retry_after_seconds

_PASS_THROUGH = frozenset({400, 404, 409, 413, 422})
MAX_PARSED_URLS = 64  # upstream URLs kept parsed per provider


@dataclass(frozen=True, slots=True)
class Timeouts:
    total: float = 120.0
    connect: float = 10.0
    first_byte: float = 60.0
    idle: float = 60.0
    max_connections: int = 100


@dataclass(slots=True)
class Call:
    """One upstream request, as the dialect builds it."""

    url: str
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)


class StreamReader(Protocol):
    """Turns the upstream's stream events into OpenAI chunk payloads (JSON bytes)."""

    def feed(self, event: str | None, payload: bytes) -> list[bytes]: ...

    def close(self) -> list[bytes]: ...


class Dialect(Protocol):
    framing: str  # "sse" or "aws-eventstream"

    def call(self, body: dict[str, Any], *, stream: bool) -> Call: ...

    def answer(self, provider: str, raw: bytes, model: str) -> tuple[dict[str, Any], bytes]: ...

    def reader(self, provider: str, model: str) -> StreamReader: ...


def upstream_message(raw: bytes) -> str:
    """The provider's own error message: `error.message` (OpenAI, Anthropic, Gemini, Azure),
    `message` (Bedrock), else the start of the body."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:200].decode("utf-8", "replace")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # Gemini's streaming endpoint wraps errors in a list
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        if isinstance(error, str):
            return error[:500]
        if isinstance(data.get("message"), str):
            return str(data["message"])[:500]
    return raw[:200].decode("utf-8", "replace")


def status_error(provider: str, where: str, status: int, raw: bytes,
                 headers: Mapping[str, str] | None = None) -> ProviderError:
    message = upstream_message(raw)
    if status in _PASS_THROUGH:
        return ProviderError(f"provider {provider!r}: {message}", status=status,
                             upstream_status=status, code="upstream_rejected",
                             provider=provider)
    if status == 429:
        return ProviderError(
            f"provider {provider!r} is rate limiting the gateway: {message}", status=429,
            upstream_status=429, code="upstream_rate_limited", provider=provider,
            retry_after=retry_after_seconds(headers.get("Retry-After") if headers else None))
    if status in (401, 403):
        return ProviderError(f"provider {provider!r} rejected the gateway's credentials "
                             f"(HTTP {status}); an administrator must check the provider "
                             f"key", status=502, upstream_status=status,
                             code="upstream_auth_failed", provider=provider)
    return ProviderError(f"provider {provider!r} failed with HTTP {status}", status=502,
                         upstream_status=status, provider=provider, retryable=True,
                         detail=f"{where}: HTTP {status}: {message}")


class HttpProvider:
    def __init__(self, name: str, base_url: str, dialect: Dialect,
                 timeouts: Timeouts | None = None) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.dialect = dialect
        t = timeouts or Timeouts()
        self._timeout = aiohttp.ClientTimeout(total=t.total, connect=t.connect)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, connect=t.connect)
        self._first_byte_timeout = t.first_byte
        self._idle_timeout = t.idle
        self._max_connections = t.max_connections
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}  # parsed once; a few per provider (Gemini: per model)

    def _url(self, url: str) -> URL:
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= MAX_PARSED_URLS:  # model names come from agents: bounded
                self._urls.clear()
            parsed = self._urls[url] = URL(url, encoded=True)
        return parsed

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300,
                                             keepalive_timeout=30)
            # no cookie jar: an upstream's cookies must not follow one agent's call into
            # the next (and filtering an empty jar on every call costs time)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    def _timed_out(self, what: str) -> ProviderTimeout:
        return ProviderTimeout(f"provider {self.name!r} {what}", provider=self.name)

    def _broken(self, what: str, exc: BaseException) -> ProviderError:
        return ProviderError(f"provider {self.name!r} {what}", provider=self.name,
                             retryable=True,
                             detail=f"{self.base_url}: {type(exc).__name__}: {exc}")

    async def _post(self, body: dict[str, Any], *, stream: bool,
                    timeout: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        call = self.dialect.call(body, stream=stream)
        try:
            response = await self._client().post(self._url(call.url),
                                                  data=call.payload, headers=call.headers,
                                                  timeout=timeout)
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
            raise status_error(self.name, self.base_url, response.status, raw,
                               response.headers)
        return response

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        response = await self._post(body, stream=False, timeout=self._timeout)
        try:
            raw = await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise self._timed_out("did not finish its answer in time") from None
        except aiohttp.ClientError as exc:
            raise self._broken("broke the connection", exc) from None
        finally:
            response.release()
        return self.dialect.answer(self.name, raw, str(body.get("model", "")))

    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        first_byte = asyncio.get_running_loop().time() + self._first_byte_timeout
        try:
            async with asyncio.timeout_at(first_byte):
                response = await self._post(body, stream=True, timeout=self._stream_timeout)
        except TimeoutError:
            raise self._timed_out("did not start streaming in time") from None
        reader = self.dialect.reader(self.name, str(body.get("model", "")))
        return self._chunks(response, reader, first_byte)

    async def _chunks(self, response: aiohttp.ClientResponse, reader: StreamReader,
                      first_byte: float) -> AsyncIterator[bytes]:
        """Yield each OpenAI chunk payload; stop at the end of the upstream stream."""
        loop = asyncio.get_running_loop()
        deadline = first_byte
        events = (_aws_events(response) if self.dialect.framing == "aws-eventstream"
                  else _sse_events(response))
        try:
            while True:
                async with asyncio.timeout_at(deadline):
                    item = await anext(events, None)
                if item is None:
                    break
                for chunk in reader.feed(*item):
                    yield chunk
                deadline = loop.time() + self._idle_timeout
            for chunk in reader.close():
                yield chunk
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise self._timed_out("stopped streaming (no chunk in time)") from None
        except aiohttp.ClientError as exc:
            raise self._broken("broke the stream", exc) from None
        finally:
            await events.aclose()
            response.release()

    async def list_models(self) -> list[dict[str, Any]]:
        return []

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _sse_events(response: aiohttp.ClientResponse
                      ) -> AsyncGenerator[tuple[str | None, bytes]]:
    """(event name or None, data payload) of each SSE event; stops at `[DONE]`."""
    event: str | None = None
    while True:
        line = await response.content.readline()
        if not line:
            return
        if line.startswith(b"event:"):
            event = line[6:].strip().decode("utf-8", "replace")
            continue
        if not line.startswith(b"data:"):
            if not line.strip():
                event = None
            continue  # comments, ids
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return
        if payload:
            yield event, payload


async def _aws_events(response: aiohttp.ClientResponse
                      ) -> AsyncGenerator[tuple[str | None, bytes]]:
    """AWS's binary event-stream framing (Bedrock ConverseStream), decoded by botocore."""
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    async for data in response.content.iter_any():
        buffer.add_data(data)
        for message in buffer:
            headers = message.headers
            if headers.get(":message-type") == "event":
                yield str(headers.get(":event-type")), message.payload
            else:
                kind = headers.get(":exception-type") or headers.get(":error-code") or "error"
                yield f"!{kind}", message.payload
