"""A scripted upstream for governed-stream tests, and a reader of the SSE the agent gets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import orjson

from tappass.pipeline.step import Action, Finding, TextVerdict
from tests.conftest import ADMIN_HEADERS, Gateway
from tests.support.steps import implemented

USAGE = {"prompt_tokens": 7, "completion_tokens": 42, "total_tokens": 49}
ECHO = "tappass/echo"


class Scripted:
    """Streams a fixed answer cut into `pieces` (and tool-call deltas); answers it whole
    when not streaming, so the streamed and the whole path can be compared."""

    name = "tappass"

    def __init__(self, pieces: Sequence[str], calls: Sequence[dict[str, Any]] = (),
                 usage_inline: bool | None = False) -> None:
        self.pieces = list(pieces)
        self.calls = list(calls)
        # True: usage on the finish chunk, as some providers do; None: no finish, no usage
        self.usage_inline = usage_inline

    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        base = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 1,
                "model": ECHO}

        def chunk(delta: dict[str, Any], finish: str | None = None,
                  **extra: Any) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return orjson.dumps({**base, "choices": [choice], **extra})

        yield chunk({"role": "assistant", "content": ""})
        for piece in self.pieces:
            yield chunk({"content": piece})
        for call in self.calls:
            yield chunk({"tool_calls": [call]})
        finish = "tool_calls" if self.calls else "stop"
        if self.usage_inline is None:
            return   # an upstream that ends with no finish chunk and no usage
        if self.usage_inline:
            yield chunk({"content": "."}, finish, usage=USAGE)
            return
        yield chunk({}, finish)
        yield orjson.dumps({**base, "choices": [], "usage": USAGE})

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        answer = {"id": "chatcmpl-scripted", "object": "chat.completion", "created": 1,
                  "model": ECHO, "usage": USAGE,
                  "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                               "message": {"role": "assistant",
                                           "content": "".join(self.pieces)}}]}
        return answer, orjson.dumps(answer)

    async def list_models(self) -> list[dict[str, Any]]:
        return []

    async def close(self) -> None:
        return None


def script(gw: Gateway, pieces: Sequence[str], calls: Sequence[dict[str, Any]] = (),
           usage_inline: bool | None = False) -> None:
    gw.services.providers.echo = Scripted(pieces, calls, usage_inline)


async def add_agent(gw: Gateway, name: str = "bot", flags: dict[str, str] | None = None,
                    steps: dict[str, Any] | None = None) -> str:
    key = await gw.add_agent(name, "standard", {"pii": "mask", **(flags or {})})
    if steps is not None:
        response = await gw.client.patch(f"/v1/agents/{name}/pipeline", headers=ADMIN_HEADERS,
                                         json={"overrides": {"steps": steps}})
        assert response.status_code == 200, response.text
    return key


def events(raw: str) -> list[str]:
    """The `data:` payloads of an OpenAI SSE body, in order."""
    return [e.removeprefix("data: ") for e in raw.split("\n\n") if e.strip()]


def streamed_text(payloads: list[str]) -> str:
    text = ""
    for payload in payloads:
        if payload == "[DONE]":
            continue
        data = orjson.loads(payload)
        for choice in data.get("choices") or ():
            text += choice["delta"].get("content") or ""
    return text


async def stream(gw: Gateway, key: str, **extra: Any) -> tuple[Any, list[str]]:
    response = await gw.chat(key, "hi", model=ECHO, stream=True, **extra)
    assert response.status_code == 200, response.text
    return response, events(response.text)


# --- a test-only restore step, in the token format of pii_tokenization -----------------

TOKEN_RE = re.compile(r"\[TOKEN_[A-Z_]+_[0-9a-f]{8}\]")
MAX_TOKEN_CHARS = 48
_PARTIAL = re.compile(r"\[(?:T(?:O(?:K(?:E(?:N(?:_[A-Z_]*(?:_[0-9a-f]{0,8})?)?)?)?)?)?)?$")


def partial_token_suffix(text: str) -> str:
    """The end of `text` that may be the start of a token ("" when it cannot be)."""
    match = _PARTIAL.search(text, max(0, len(text) - MAX_TOKEN_CHARS))
    return match.group(0) if match else ""


class RestoreTokens:
    """pii_restore as the stream governor runs it: tokens back to their values."""

    stream_window = MAX_TOKEN_CHARS
    stream_arguments = True
    values: ClassVar[dict[str, str]] = {}

    def __init__(self, options: Any, services: Any) -> None:
        pass

    async def run(self, ctx: Any) -> None:
        return None

    def stream_hold(self, text: str) -> int:
        return len(text) - len(partial_token_suffix(text))

    def govern_text(self, ctx: Any, scan: Any) -> TextVerdict | None:
        found = tuple(tuple(Finding("TOKEN", m.start(), m.end()) for m in TOKEN_RE.finditer(t)
                            if m.group(0) in self.values) for t in scan.texts)
        if not any(found):
            return None
        return TextVerdict(Action.TRANSFORM, "restored tokens", found,
                           lambda finding, value: self.values[value])


class BrokenScanner(RestoreTokens):
    """A text-governing step with a bug: raises on the stream."""

    def govern_text(self, ctx: Any, scan: Any) -> TextVerdict | None:
        raise ZeroDivisionError("division by zero")


governing = implemented     # registered step `step_id` runs `cls` in pipelines compiled inside


@contextmanager
def restoring(values: dict[str, str]) -> Iterator[None]:
    """pii_restore runs RestoreTokens in pipelines compiled inside the block."""
    RestoreTokens.values = values
    with governing("pii_restore", RestoreTokens):
        yield
