"""What `Agent` and `AsyncAgent` share: configuration, request building, response parsing.

The two agents differ only in their I/O calls (httpx.Client vs httpx.AsyncClient).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import httpx

from tappass._version import __version__
from tappass.sdk._config import (
    DEFAULT_TIMEOUT,
    FlagsArg,
    RetryPolicy,
    check_optional,
    env_flags,
    flags_header,
    merge_flags,
    normalize_url,
    resolve_api_key,
    to_flags,
)
from tappass.sdk._errors import (
    APIError,
    ConfigurationError,
    GatewayConnectionError,
    GatewayTimeout,
    ServerError,
    error_from_event,
    error_from_response,
)
from tappass.sdk._models import ChatCompletion, ChatCompletionChunk, jsonable
from tappass.sdk._types import Governance

TimeoutArg = float | httpx.Timeout | None
Messages = str | Sequence[Mapping[str, Any] | Any]
DONE = "[DONE]"


class AgentOptions(TypedDict, total=False):
    """The keyword options of `Agent` and `AsyncAgent` (see `BaseAgent`)."""

    name: str | None
    flags: FlagsArg
    session_id: str | None
    model: str | None
    max_retries: int
    backoff: float
    timeout: float | httpx.Timeout
    default_headers: Mapping[str, str] | None


class BaseAgent:
    """Configuration and request/response logic shared by `Agent` and `AsyncAgent`.

    `name` is informational (sent as `X-TapPass-Agent-Name`); `model` is the default model
    of `chat()`; `max_retries` and `backoff` (seconds, doubled per retry) drive retries;
    `timeout` (seconds or `httpx.Timeout`) applies per request unless a call overrides it.
    """

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 name: str | None = None, flags: FlagsArg = None,
                 session_id: str | None = None, model: str | None = None,
                 max_retries: int = 2, backoff: float = 0.5,
                 timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
                 default_headers: Mapping[str, str] | None = None) -> None:
        self.base_url = normalize_url(url)
        self.api_key = resolve_api_key(api_key)
        self.name = check_optional("name", name)
        self.session_id = check_optional("session_id", session_id)
        self.flags = merge_flags(env_flags(), to_flags(flags, "flags="))
        self.model = model
        self.retry = RetryPolicy(max_retries=max_retries, backoff=backoff)
        self.timeout = timeout
        self._default_headers = dict(default_headers or {})

    @property
    def url(self) -> str:
        """The gateway's root URL (without `/v1`)."""
        return self.base_url.removesuffix("/v1")

    @property
    def max_retries(self) -> int:
        return self.retry.max_retries

    def headers(self, *, flags: FlagsArg = None,
                session_id: str | None = None) -> dict[str, str]:
        """The TapPass headers of a request (flags, session, agent name), without the key.

        Give them to another OpenAI-compatible client (`default_headers=`) to govern it the
        same way; see `tappass.sdk.integrations`.
        """
        headers = {"User-Agent": f"tappass-python/{__version__}", **self._default_headers}
        if self.name:
            headers["X-TapPass-Agent-Name"] = self.name
        headers.update(flags_header(merge_flags(self.flags, to_flags(flags, "flags= of the call"))))
        session = check_optional("session_id", session_id) or self.session_id
        if session:
            headers["X-Session-Id"] = session
        return headers

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.base_url!r}, name={self.name!r}, "
                f"flags={self.flags!r})")

    def _build_request(self, client: httpx.Client | httpx.AsyncClient, *, model: str,
                       messages: Messages, stream: bool, params: Mapping[str, Any],
                       flags: FlagsArg = None, session_id: str | None = None,
                       extra_headers: Mapping[str, str] | None = None,
                       extra_query: Mapping[str, Any] | None = None,
                       extra_body: Mapping[str, Any] | None = None,
                       timeout: TimeoutArg = None) -> httpx.Request:
        """Validate everything, then build the `POST /v1/chat/completions` request."""
        headers = {"Authorization": f"Bearer {self.api_key}",
                   **self.headers(flags=flags, session_id=session_id)}
        if stream:
            headers["Accept"] = "text/event-stream"
        headers.update(extra_headers or {})
        body = {"model": model, "messages": jsonable(_messages(messages)),
                **{k: jsonable(v) for k, v in params.items() if not _omitted(v)}}
        if stream:
            body["stream"] = True
        body.update(jsonable(extra_body or {}))
        return client.build_request(
            "POST", f"{self.base_url}/chat/completions", json=body, headers=headers,
            params=dict(extra_query) if extra_query else None,
            timeout=timeout if timeout is not None else self.timeout)

    def _chat_model(self, model: str | None, params: Mapping[str, Any]) -> str:
        """The model of a `chat()` call; `chat()` answers whole, streaming is `create()`'s."""
        if params.get("stream"):
            raise ConfigurationError("chat() does not stream: use "
                                     "agent.chat.completions.create(..., stream=True)")
        chosen = model or self.model
        if not chosen:
            raise ConfigurationError("no model: pass model='...' to chat() or Agent(model=...)")
        return chosen

    def _completion(self, response: httpx.Response) -> ChatCompletion:
        """The completion of a read, successful response; raises the typed error otherwise."""
        governance = Governance.from_headers(response.headers)
        if response.status_code >= 400:
            raise _error(response, governance)
        try:
            data = response.json()
        except ValueError:
            raise ServerError("the gateway answered with invalid JSON",
                              status=response.status_code, governance=governance) from None
        completion = ChatCompletion(data)
        completion.governance = governance
        return completion


def _messages(messages: Messages) -> list[Any]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return list(messages)


def _omitted(value: Any) -> bool:
    """openai's `NOT_GIVEN` / `omit` sentinels mean "leave it out"."""
    return type(value).__name__ in ("NotGiven", "Omit")


def _error(response: httpx.Response, governance: Governance) -> APIError:
    try:
        body: Any = response.json()
    except ValueError:
        body = {"message": response.text[:500] or f"HTTP {response.status_code}"}
    return error_from_response(response.status_code, body, response.headers, governance)


def error_of(response: httpx.Response) -> APIError:
    """The typed error of a read error response."""
    return _error(response, Governance.from_headers(response.headers))


def transport_error(exc: httpx.TransportError, url: str) -> GatewayConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return GatewayTimeout(f"the gateway at {url} did not answer in time ({exc!r})")
    return GatewayConnectionError(f"cannot reach the gateway at {url}: {exc}")


class SSEDecoder:
    """Server-sent events, line by line: returns an event's data when the event ends."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None

    def flush(self) -> str | None:
        if not self._data:
            return None
        data, self._data = "\n".join(self._data), []
        return data


def parse_event(data: str, governance: Governance) -> ChatCompletionChunk | None:
    """A chunk, or None at `[DONE]`; an `{"error": ...}` event raises its typed error."""
    if data.strip() == DONE:
        return None
    try:
        payload = json.loads(data)
    except ValueError:
        raise ServerError(f"malformed stream event from the gateway: {data[:200]!r}",
                          status=502, governance=governance) from None
    if isinstance(payload, dict) and "error" in payload:
        raise error_from_event(payload, governance)
    return ChatCompletionChunk(payload)
