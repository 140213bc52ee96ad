"""Rewriting the texts of a request or an answer: replace spans, keep the structure.

The texts are visited in the order `Context.texts()` (request) and `answer_texts()`
(answer) return them, so the i-th list of findings of a `Scan` over those texts applies to
the i-th text. Messages and choices are copied, never changed in place: the client's
parsed body and the provider's parsed answer stay as they were received.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tappass.pipeline.step import Finding

Label = Callable[[Finding], str]


def replace_spans(text: str, findings: Sequence[Finding], label: Label) -> str:
    """`text` with each finding's span replaced by `label(finding)`; overlaps merged."""
    return replace_values(text, findings, lambda finding, _value: label(finding))


def replace_values(text: str, findings: Sequence[Finding],
                   label: Callable[[Finding, str], str]) -> str:
    """`text` with each finding's span replaced by `label(finding, the text it spans)`;
    overlaps merged into the first."""
    spans = sorted((f.start, f.end, f) for f in findings
                   if f.start is not None and f.end is not None)
    out: list[str] = []
    cursor = 0
    for start, end, finding in spans:
        if end <= cursor:
            continue
        if start < cursor:       # overlapping the previous replacement: extend it
            start = cursor
        else:
            out.append(text[cursor:start])
            out.append(label(finding, text[start:end]))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def rewrite_messages(messages: list[dict[str, Any]],
                     rewrite: Callable[[int, str], str]) -> list[dict[str, Any]]:
    """`messages` with text number i replaced by `rewrite(i, text)`: a changed message or
    part is a new object, an unchanged one is shared, none is modified in place."""
    index = 0
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            new = rewrite(index, content)
            index += 1
            if new != content:
                message = {**message, "content": new}
        elif isinstance(content, list):
            parts = []
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    new = rewrite(index, part["text"])
                    index += 1
                    if new != part["text"]:
                        part = {**part, "text": new}
                parts.append(part)
            if any(a is not b for a, b in zip(parts, content, strict=True)):
                message = {**message, "content": parts}
        out.append(message)
    return out


def answer_parts(response: dict[str, Any]) -> list[tuple[str, bool]]:
    """The texts of a chat completion, each with whether it is a tool call's arguments
    (JSON): each choice's content, then its tool calls' arguments."""
    out: list[tuple[str, bool]] = []
    for message in _messages(response):
        if isinstance(message.get("content"), str):
            out.append((message["content"], False))
        for call in _tool_calls(message):
            out.append((call["function"]["arguments"], True))
    return out


def answer_contents(response: dict[str, Any] | None) -> list[str]:
    """Each choice's message content (tool-call arguments left out)."""
    return [m["content"] for m in _messages(response or {}) if isinstance(m.get("content"), str)]


def answer_tool_calls(response: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, arguments) of every tool call in a chat completion."""
    return [(str(call["function"].get("name", "")), call["function"]["arguments"])
            for message in _messages(response) for call in _tool_calls(message)]


def answer_texts(response: dict[str, Any]) -> list[str]:
    """The texts of a chat completion: each choice's content and tool-call arguments."""
    return [text for text, _ in answer_parts(response)]


def rewrite_answer(response: dict[str, Any],
                   rewrite: Callable[[int, str], str]) -> dict[str, Any]:
    """A copy of `response` with answer text number i replaced by `rewrite(i, text)`."""
    index = 0
    choices = []
    for choice in response.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            choices.append(choice)
            continue
        message = dict(message)
        if isinstance(message.get("content"), str):
            message["content"] = rewrite(index, message["content"])
            index += 1
        calls = []
        for call in message.get("tool_calls") or []:
            if call in _tool_calls(message):
                function = dict(call["function"])
                function["arguments"] = rewrite(index, function["arguments"])
                index += 1
                call = {**call, "function": function}
            calls.append(call)
        if "tool_calls" in message and message["tool_calls"] is not None:
            message["tool_calls"] = calls
        choices.append({**choice, "message": message})
    return {**response, "choices": choices}


def _messages(response: dict[str, Any]) -> list[dict[str, Any]]:
    choices = response.get("choices")
    if not isinstance(choices, list):
        return []
    return [c["message"] for c in choices
            if isinstance(c, dict) and isinstance(c.get("message"), dict)]


def _tool_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return []
    return [c for c in calls if isinstance(c, dict) and isinstance(c.get("function"), dict)
            and isinstance(c["function"].get("arguments"), str)]
