"""`Agent`: the synchronous client. `agent.chat(...)` and OpenAI's `agent.chat.completions`."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
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

__all__ = ["Agent", "Stream"]


class Agent(BaseAgent):
    """A governed agent: an OpenAI-compatible client of a TapPass gateway.

        agent = Agent("http://127.0.0.1:9620", "tp_...", flags={"mode": "observe"})
        reply = agent.chat("Hello", model="gpt-4o")          # .content .usage .governance
        completion = agent.chat.completions.create(model="gpt-4o", messages=[...])

    `url` defaults to TAPPASS_URL then http://127.0.0.1:9620 (with or without `/v1`);
    `api_key` to TAPPASS_API_KEY. Flags: TAPPASS_FLAGS < `flags=` < per-call `flags=`.
    `session_id` is sent as `X-Session-Id` on every call. Pass `http_client=` to use your
    own `httpx.Client` (it is not closed by `close()`).
    """

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 http_client: httpx.Client | None = None,
                 **options: Unpack[AgentOptions]) -> None:
        super().__init__(url, api_key, **options)
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(timeout=self.timeout)
        self.chat = Chat(self)

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send with retries; a streamed answer is retried only before its first byte."""
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_retries:
                    raise transport_error(exc, self.base_url) from exc
            else:
                if self.retry.needs_body(response.status_code):
                    response.read()  # a small error answer: is it retryable?
                if attempt >= self.retry.max_retries or not self.retry.retries(response):
                    return response
                response.close()
            time.sleep(self.retry.delay(attempt, response))
            attempt += 1

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class Chat:
    """`agent.chat("Hello", model=...)`, and `agent.chat.completions` as in OpenAI's client."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self.completions = Completions(agent)

    def __call__(self, message: Messages, *, model: str | None = None,
                 flags: FlagsArg = None, session_id: str | None = None,
                 **params: Any) -> ChatResponse:
        """Send one message (or a list of messages) and return the governed answer."""
        completion = self.completions.create(
            model=self._agent._chat_model(model, params), messages=message, flags=flags,
            session_id=session_id, **params)
        return ChatResponse(completion, completion.governance or Governance())


class Completions:
    """`create(...)` takes the arguments of OpenAI's and returns the same shapes."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    @overload
    def create(self, *, model: str, messages: Messages, stream: Literal[True],
               **params: Any) -> Stream: ...

    @overload
    def create(self, *, model: str, messages: Messages, stream: Literal[False] | None = None,
               **params: Any) -> ChatCompletion: ...

    def create(self, *, model: str, messages: Messages, stream: bool | None = None,
               flags: FlagsArg = None, session_id: str | None = None,
               extra_headers: Mapping[str, str] | None = None,
               extra_query: Mapping[str, Any] | None = None,
               extra_body: Mapping[str, Any] | None = None, timeout: TimeoutArg = None,
               **params: Any) -> ChatCompletion | Stream:
        """POST /v1/chat/completions; unknown keyword arguments go into the JSON body.

        `flags` and `session_id` apply to this call only. With `stream=True` the answer is a
        `Stream` of `ChatCompletionChunk`; a block mid-stream raises `PolicyBlockError`.
        """
        agent = self._agent
        request = agent._build_request(
            agent._client, model=model, messages=messages, stream=bool(stream), params=params,
            flags=flags, session_id=session_id, extra_headers=extra_headers,
            extra_query=extra_query, extra_body=extra_body, timeout=timeout)
        response = agent._send(request, stream=bool(stream))
        if stream:
            return Stream(_opened(response), agent.base_url)
        return agent._completion(response)


def _opened(response: httpx.Response) -> httpx.Response:
    """The streamed response if it is a success; else read it and raise its error."""
    if response.status_code < 400:
        return response
    try:
        response.read()
    finally:
        response.close()
    raise error_of(response)


class Stream:
    """The chunks of a streamed answer, like `openai.Stream`; iterate it once.

    `.governance` is known when the stream opens; `.response` is the `httpx.Response`.
    """

    def __init__(self, response: httpx.Response, url: str) -> None:
        self.response = response
        self.governance = Governance.from_headers(response.headers)
        self._url = url
        self._iterator = self._chunks()

    def _chunks(self) -> Iterator[ChatCompletionChunk]:
        decoder = SSEDecoder()
        try:
            for line in self.response.iter_lines():
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
            self.response.close()

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self._iterator

    def __next__(self) -> ChatCompletionChunk:
        return next(self._iterator)

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
