"""OpenAI-shaped response objects, so OpenAI code reads them unchanged.

The `openai` package is not a dependency. These classes have the attributes of
`openai.types.chat.ChatCompletion` and `ChatCompletionChunk` that code reads
(`.choices[0].message.content`, `.tool_calls[i].function.arguments`, `.usage.prompt_tokens`,
`.choices[0].delta.content` ...): a declared field that the gateway did not send is `None`,
an undeclared one the gateway sent is still readable (like openai's `extra="allow"`).
`to_dict()` returns exactly what the gateway sent; `model_dump()` also lists unset fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from tappass.sdk._types import Governance

__all__ = ["ChatCompletion", "ChatCompletionChunk"]

_NOT_FIELDS = frozenset({"governance"})  # set by the SDK, not sent by the gateway


class Model:
    """A response object built from JSON; attributes mirror the JSON keys."""

    _fields: ClassVar[tuple[str, ...]] = ()              # the annotated names of a subclass
    _nested: ClassVar[Mapping[str, type[Model]]] = {}   # key -> class of the value/items

    def __init_subclass__(cls) -> None:
        annotations = cls.__dict__.get("__annotations__", {})
        cls._fields = tuple(k for k in annotations if k not in _NOT_FIELDS)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._keys: tuple[str, ...] = tuple(data)
        for name in self._fields:
            setattr(self, name, None)
        for key, value in data.items():
            setattr(self, key, self._convert(key, value))

    @classmethod
    def _convert(cls, key: str, value: Any) -> Any:
        target = cls._nested.get(key)
        if target is None:
            return value
        if isinstance(value, list):
            return [target(v) if isinstance(v, Mapping) else v for v in value]
        return target(value) if isinstance(value, Mapping) else value

    def to_dict(self) -> dict[str, Any]:
        """What the gateway sent, as plain JSON data."""
        return {key: _plain(getattr(self, key)) for key in self._keys}

    def model_dump(self, *, exclude_unset: bool = False, exclude_none: bool = False,
                   **_: Any) -> dict[str, Any]:
        """Like pydantic's `model_dump`: declared fields are listed even if unset."""
        keys = self._keys if exclude_unset else (*self._fields,
                                                 *(k for k in self._keys if k not in self._fields))
        out = {k: _plain(getattr(self, k), exclude_unset, exclude_none) for k in keys}
        return {k: v for k, v in out.items() if v is not None} if exclude_none else out

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def model_dump_json(self, *, indent: int | None = None, **_: Any) -> str:
        return json.dumps(self.model_dump(), indent=indent)

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model) or type(other) is not type(self):
            return NotImplemented
        return other.to_dict() == self.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._keys)
        return f"{type(self).__name__}({items})"


def _plain(value: Any, exclude_unset: bool = True, exclude_none: bool = False) -> Any:
    if isinstance(value, Model):
        if exclude_unset and not exclude_none:
            return value.to_dict()
        return value.model_dump(exclude_unset=exclude_unset, exclude_none=exclude_none)
    if isinstance(value, list):
        return [_plain(v, exclude_unset, exclude_none) for v in value]
    return value


class Function(Model):
    name: str | None
    arguments: str | None


class ChatCompletionMessageToolCall(Model):
    id: str | None
    type: str | None
    function: Function | None
    _nested = {"function": Function}


class ChatCompletionMessage(Model):
    role: str | None
    content: str | None
    refusal: str | None
    tool_calls: list[ChatCompletionMessageToolCall] | None
    function_call: Function | None
    audio: Any
    annotations: Any
    _nested = {"tool_calls": ChatCompletionMessageToolCall, "function_call": Function}


class CompletionUsage(Model):
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    prompt_tokens_details: Any
    completion_tokens_details: Any


class Choice(Model):
    index: int | None
    message: ChatCompletionMessage | None
    finish_reason: str | None
    logprobs: Any
    _nested = {"message": ChatCompletionMessage}


class ChatCompletion(Model):
    """A chat completion, shaped like `openai.types.chat.ChatCompletion`."""

    id: str | None
    object: str | None
    created: int | None
    model: str | None
    choices: list[Choice]
    usage: CompletionUsage | None
    system_fingerprint: str | None
    service_tier: str | None
    governance: Governance | None = None  # the X-TapPass-* headers of the answer
    _nested = {"choices": Choice, "usage": CompletionUsage}


class ChoiceDeltaToolCallFunction(Model):
    name: str | None
    arguments: str | None


class ChoiceDeltaToolCall(Model):
    index: int | None
    id: str | None
    type: str | None
    function: ChoiceDeltaToolCallFunction | None
    _nested = {"function": ChoiceDeltaToolCallFunction}


class ChoiceDelta(Model):
    role: str | None
    content: str | None
    refusal: str | None
    tool_calls: list[ChoiceDeltaToolCall] | None
    function_call: ChoiceDeltaToolCallFunction | None
    _nested = {"tool_calls": ChoiceDeltaToolCall, "function_call": ChoiceDeltaToolCallFunction}


class ChunkChoice(Model):
    index: int | None
    delta: ChoiceDelta | None
    finish_reason: str | None
    logprobs: Any
    _nested = {"delta": ChoiceDelta}


class ChatCompletionChunk(Model):
    """One streamed event, shaped like `openai.types.chat.ChatCompletionChunk`."""

    id: str | None
    object: str | None
    created: int | None
    model: str | None
    choices: list[ChunkChoice]
    usage: CompletionUsage | None
    system_fingerprint: str | None
    service_tier: str | None
    _nested = {"choices": ChunkChoice, "usage": CompletionUsage}


def jsonable(value: Any) -> Any:
    """Make request values JSON-ready: SDK objects and pydantic models (openai types) too.

    Tool-calling loops append `response.choices[0].message` to `messages`; this keeps that
    working whether the message came from this SDK or from the `openai` package.
    """
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return jsonable(dump(exclude_unset=True, mode="json"))
    return value
