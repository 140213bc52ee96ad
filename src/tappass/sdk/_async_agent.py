"""`AsyncAgent`: the asyncio twin of `Agent`, same surface with `await`.

Only the I/O differs from `_agent.py`; building requests and parsing answers is shared in
`_base.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Literal, Unpack, overload

import httpx

from tappass.sdk._base import (
    AgentOptions,
    BaseAgent,
    Messages,
    SSEDecoder,
    TimeoutArg,
    error_of,
    parse_event,
    transport_error,
)
from tappass.sdk._config import FlagsArg
from tappass.sdk._models import ChatCompletion, ChatCompletionChunk
from tappass.sdk._types import ChatResponse, Governance

__all__ = ["AsyncAgent", "AsyncStream"]


class AsyncAgent(BaseAgent):
    """A governed agent for asyncio code; the same arguments and surface as `Agent`.

        agent = AsyncAgent("http://127.0.0.1:9620", "tp_...", flags={"mode": "observe"})
        reply = await agent.chat("Hello", model="gpt-4o")
        stream = await agent.chat.completions.create(model=..., messages=..., stream=True)
        async for chunk in stream: ...
    """

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 http_client: httpx.AsyncClient | None = None,
                 **options: Unpack[AgentOptions]) -> None:
        super().__init__(url, api_key, **options)
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=self.timeout)
        self.chat = AsyncChat(self)

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send with retries; a streamed answer is retried only before its first byte."""
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_retries:
                    raise transport_error(exc, self.base_url) from exc
            else:
                if self.retry.needs_body(response.status_code):
                    await response.aread()  # a small error answer: is it retryable?
                if attempt >= self.retry.max_retries or not self.retry.retries(response):
                    return response
                await response.aclose()
            await asyncio.sleep(self.retry.delay(attempt, response))
            attempt += 1

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncAgent:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


class AsyncChat:
    """`await agent.chat("Hello", model=...)` and `agent.chat.completions`."""

    def __init__(self, agent: AsyncAgent) -> None:
        self._agent = agent
        self.completions = AsyncCompletions(agent)

    async def __call__(self, message: Messages, *, model: str | None = None,
                       flags: FlagsArg = None, session_id: str | None = None,
                       **params: Any) -> ChatResponse:
        """Send one message (or a list of messages) and return the governed answer."""
        completion = await self.completions.create(
            model=self._agent._chat_model(model, params), messages=message, flags=flags,
            session_id=session_id, **params)
        return ChatResponse(completion, completion.governance or Governance())


class AsyncCompletions:
    """`await create(...)` takes the arguments of OpenAI's and returns the same shapes."""

    def __init__(self, agent: AsyncAgent) -> None:
        self._agent = agent

    @overload
    async def create(self, *, model: str, messages: Messages, stream: Literal[True],
                     **params: Any) -> AsyncStream: ...

    @overload
    async def create(self, *, model: str, messages: Messages,
                     stream: Literal[False] | None = None, **params: Any) -> ChatCompletion: ...

    async def create(self, *, model: str, messages: Messages, stream: bool | None = None,
                     flags: FlagsArg = None, session_id: str | None = None,
                     extra_headers: Mapping[str, str] | None = None,
                     extra_query: Mapping[str, Any] | None = None,
                     extra_body: Mapping[str, Any] | None = None, timeout: TimeoutArg = None,
                     **params: Any) -> ChatCompletion | AsyncStream:
        """POST /v1/chat/completions; see `Completions.create`."""
        agent = self._agent
        request = agent._build_request(
            agent._client, model=model, messages=messages, stream=bool(stream), params=params,
            flags=flags, session_id=session_id, extra_headers=extra_headers,
            extra_query=extra_query, extra_body=extra_body, timeout=timeout)
        response = await agent._send(request, stream=bool(stream))
        if stream:
            return AsyncStream(await _opened(response), agent.base_url)
        return agent._completion(response)


async def _opened(response: httpx.Response) -> httpx.Response:
    if response.status_code < 400:
        return response
    try:
        await response.aread()
    finally:
        await response.aclose()
    raise error_of(response)


class AsyncStream:
    """The chunks of a streamed answer, like `openai.AsyncStream`; iterate it once."""

    def __init__(self, response: httpx.Response, url: str) -> None:
        self.response = response
        self.governance = Governance.from_headers(response.headers)
        self._url = url
        self._iterator = self._chunks()

    async def _chunks(self) -> AsyncIterator[ChatCompletionChunk]:
        decoder = SSEDecoder()
        try:
            async for line in self.response.aiter_lines():
                data = decoder.feed(line)
                if data is None:
                    continue
                chunk = parse_event(data, self.governance)
                if chunk is None:
                    return
                yield chunk
            data = decoder.flush()
            if data is not None and (chunk := parse_event(data, self.governance)) is not None:
                yield chunk
        except httpx.TransportError as exc:
            raise transport_error(exc, self._url) from exc
        finally:
            await self.response.aclose()

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self._iterator

    async def __anext__(self) -> ChatCompletionChunk:
        return await self._iterator.__anext__()

    async def close(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
