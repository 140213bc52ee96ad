"""Tool definitions and tool calls as they appear in OpenAI-shaped requests and answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call of a tool: its name and its arguments (parsed JSON object when possible)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str = "{}"
    id: str | None = None
    parsed: bool = True   # False: the arguments were not a JSON object (checked as one text)

    def with_arguments(self, arguments: dict[str, Any]) -> ToolCall:
        return ToolCall(self.name, arguments, orjson.dumps(arguments).decode(), self.id)


def _as_object(raw: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def call_from(name: str, arguments: Any, call_id: str | None = None) -> ToolCall:
    """A ToolCall from a name and arguments given as a JSON string or an object."""
    if isinstance(arguments, dict):
        return ToolCall(name, arguments, orjson.dumps(arguments).decode(), call_id)
    raw = arguments if isinstance(arguments, str) and arguments.strip() else "{}"
    parsed = _as_object(raw)
    return ToolCall(name, parsed or {}, raw, call_id, parsed is not None)


def _calls_of(message: Any) -> Iterator[ToolCall]:
    if not isinstance(message, dict):
        return
    for item in message.get("tool_calls") or ():
        function = item.get("function") if isinstance(item, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            yield call_from(function["name"], function.get("arguments"), item.get("id"))


def answer_calls(response: dict[str, Any] | None) -> list[ToolCall]:
    """The tool calls of every choice of a chat-completion answer."""
    if not isinstance(response, dict):
        return []
    return [call for choice in response.get("choices") or () if isinstance(choice, dict)
            for call in _calls_of(choice.get("message"))]


def history_calls(body: dict[str, Any]) -> list[ToolCall]:
    """Tool calls the conversation says the model made earlier (assistant messages)."""
    return [call for message in body["messages"] if message.get("role") == "assistant"
            for call in _calls_of(message)]


def tool_results(body: dict[str, Any]) -> list[tuple[int, str]]:
    """(message index, text) of every tool result sent back to the model."""
    out: list[tuple[int, str]] = []
    for i, message in enumerate(body["messages"]):
        if message.get("role") not in ("tool", "function"):
            continue
        content = message.get("content")
        if isinstance(content, str):
            out.append((i, content))
        elif isinstance(content, list):
            out.extend((i, p["text"]) for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return out


def definitions(body: dict[str, Any]) -> list[dict[str, Any]]:
    tools = body.get("tools")
    return [t for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []


def definition_name(tool: dict[str, Any]) -> str:
    function = tool.get("function")
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return str(function["name"])
    name = tool.get("name")
    return name if isinstance(name, str) else ""


def definition_description(tool: dict[str, Any]) -> str:
    """Every description text of a definition: the tool's and its parameters'."""
    inner = tool.get("function")
    function: dict[str, Any] = inner if isinstance(inner, dict) else tool
    texts = [function.get("description")]
    params = function.get("parameters")
    if isinstance(params, dict) and isinstance(params.get("properties"), dict):
        texts.extend(p.get("description") for p in params["properties"].values()
                     if isinstance(p, dict))
    return "\n".join(t for t in texts if isinstance(t, str))


def string_values(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(argument path, text) of every string inside an arguments object."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_values(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from string_values(item, f"{path}[{i}]")
