"""Parse and check an OpenAI chat-completions body once; errors name the field."""

from __future__ import annotations

from typing import Any

from tappass.errors import RequestError
from tappass.server.responses import parse_json_object

_ROLES_WITHOUT_CONTENT = frozenset({"assistant"})
MAX_MODEL_CHARS = 256  # the name is recorded in every audit event: keep it bounded


def _fail(field: str, expected: str) -> RequestError:
    return RequestError(f"{field}: expected {expected}", field=field)


def _check_message(i: int, message: Any) -> None:
    # the field name is built only for an error: this runs for every message of every request
    if not isinstance(message, dict):
        raise _fail(f"messages[{i}]", "an object with 'role' and 'content'")
    role = message.get("role")
    if not isinstance(role, str) or not role:
        raise _fail(f"messages[{i}].role", "a string such as 'user'")
    content = message.get("content")
    if isinstance(content, str):
        return
    if content is None:
        if role not in _ROLES_WITHOUT_CONTENT:
            raise _fail(f"messages[{i}].content", "a string or a list of content parts")
        return
    if not isinstance(content, list):
        raise _fail(f"messages[{i}].content", "a string or a list of content parts")
    for j, part in enumerate(content):
        _check_part(f"messages[{i}].content[{j}]", part)


def _check_part(where: str, part: Any) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise _fail(where, "an object with a 'type'")
    kind = part["type"]
    if kind == "text" and not isinstance(part.get("text"), str):
        raise _fail(f"{where}.text", "a string")
    if kind == "image_url":
        image = part.get("image_url")
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            raise _fail(f"{where}.image_url.url", "a string (an https or data: URL)")


def parse_chat_request(raw: bytes) -> dict[str, Any]:
    body = parse_json_object(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip() or len(model) > MAX_MODEL_CHARS:
        raise _fail("model", f"a model name of at most {MAX_MODEL_CHARS} characters such as "
                    "'gpt-4o' or 'tappass/echo'")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _fail("messages", "a non-empty list of messages")
    for i, message in enumerate(messages):
        _check_message(i, message)
    if "stream" in body and not isinstance(body["stream"], bool | None):
        raise _fail("stream", "true or false")
    if body.get("stream_options") is not None and not isinstance(body["stream_options"], dict):
        raise _fail("stream_options", "an object")
    if body.get("tools") is not None and not isinstance(body["tools"], list):
        raise _fail("tools", "a list of tool definitions")
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise _fail(name, "a positive integer")
    return body
