"""OpenAI chat-completions <-> Anthropic Messages API, both ways, as pure functions.

Requests, answers and stream events. The gateway speaks OpenAI's shape inside; the Anthropic
adapter translates outwards (`to_anthropic_request`, `openai_answer`, `AnthropicToOpenAI`)
and the `/v1/messages` endpoint translates inwards (`openai_request`, `anthropic_answer`,
`OpenAIToAnthropic`). Text, system prompts, images, tools and tool results, usage and finish
reasons are carried; what one side has and the other lacks is dropped, never invented.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

DEFAULT_MAX_TOKENS = 4096

TO_OPENAI_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop",
                    "max_tokens": "length", "model_context_window_exceeded": "length",
                    "tool_use": "tool_calls", "refusal": "content_filter"}
TO_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                     "function_call": "tool_use", "content_filter": "refusal"}


# -- OpenAI request -> Anthropic request ----------------------------------------------------

def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _image_block(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media_type, _, data = url[5:].partition(";base64,")
        return {"type": "image",
                "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _user_blocks(content: Any) -> str | list[dict[str, Any]]:
    if not isinstance(content, list):
        return content if isinstance(content, str) else ""
    blocks: list[dict[str, Any]] = []
    for part in content:
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url":
            blocks.append(_image_block(part["image_url"]["url"]))
    return blocks


def arguments_of(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_value": value}


def _assistant_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if text:
        blocks.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append({"type": "tool_use", "id": call.get("id", ""),
                       "name": function.get("name", ""),
                       "input": arguments_of(function.get("arguments"))})
    return blocks


def _append(messages: list[dict[str, Any]], role: str,
            content: str | list[dict[str, Any]]) -> None:
    """Anthropic wants user and assistant turns to alternate: merge neighbours of one role."""
    if messages and messages[-1]["role"] == role:
        previous = messages[-1]["content"]
        as_list = ([{"type": "text", "text": previous}] if isinstance(previous, str)
                   else previous)
        extra = [{"type": "text", "text": content}] if isinstance(content, str) else content
        messages[-1]["content"] = as_list + extra
    else:
        messages.append({"role": role, "content": content})


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None = None
    if choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        out = {"type": "tool", "name": choice["function"].get("name", "")}
    if parallel is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


def to_anthropic_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for message in body["messages"]:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(text_of(message.get("content")))
        elif role == "assistant":
            _append(messages, "assistant", _assistant_blocks(message))
        elif role == "tool":
            _append(messages, "user", [{"type": "tool_result",
                                        "tool_use_id": message.get("tool_call_id", ""),
                                        "content": text_of(message.get("content"))}])
        else:
            _append(messages, "user", _user_blocks(message.get("content")))
    out: dict[str, Any] = {
        "model": model, "messages": messages,
        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens")
        or DEFAULT_MAX_TOKENS}
    if system:
        out["system"] = "\n\n".join(system)
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = [{"name": t["function"]["name"],
                         "description": t["function"].get("description", ""),
                         "input_schema": t["function"].get("parameters")
                         or {"type": "object", "properties": {}}}
                        for t in body["tools"] if t.get("type") == "function"]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice and body.get("tools"):
        out["tool_choice"] = choice
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    if body.get("stream"):
        out["stream"] = True
    return out


# -- Anthropic answer -> OpenAI answer ------------------------------------------------------

def openai_usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    prompt = sum(v for k in ("input_tokens", "cache_creation_input_tokens",
                             "cache_read_input_tokens")
                 if isinstance(v := usage.get(k), int))
    completion = usage.get("output_tokens")
    completion = completion if isinstance(completion, int) else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def openai_answer(message: dict[str, Any], model: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append({"id": block.get("id", ""), "type": "function",
                          "function": {"name": block.get("name", ""),
                                       "arguments": orjson.dumps(block.get("input") or {})
                                       .decode()}})
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None,
                             "refusal": None}
    if calls:
        reply["tool_calls"] = calls
    answer: dict[str, Any] = {
        "id": message.get("id") or "msg", "object": "chat.completion",
        "created": int(time.time()), "model": message.get("model") or model,
        "choices": [{"index": 0, "message": reply, "logprobs": None,
                     "finish_reason": TO_OPENAI_FINISH.get(message.get("stop_reason") or "",
                                                           "stop")}]}
    usage = openai_usage(message.get("usage"))
    if usage is not None:
        answer["usage"] = usage
    return answer


# -- Anthropic stream -> OpenAI chunks ------------------------------------------------------

class AnthropicToOpenAI:
    """Feed each Anthropic stream event (parsed); get the OpenAI chunks it stands for."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = "msg"
        self.created = int(time.time())
        self.usage: dict[str, Any] = {}
        self.tools: dict[int, int] = {}   # content block index -> tool call index

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return orjson.dumps({"id": self.id, "object": "chat.completion.chunk",
                             "created": self.created, "model": self.model,
                             "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                          "finish_reason": finish}]})

    def feed(self, event: dict[str, Any]) -> list[bytes]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = message.get("id") or self.id
            self.model = message.get("model") or self.model
            self.usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") != "tool_use":
                return []
            index = self.tools[event.get("index", 0)] = len(self.tools)
            return [self._chunk({"tool_calls": [{
                "index": index, "id": block.get("id", ""), "type": "function",
                "function": {"name": block.get("name", ""), "arguments": ""}}]})]
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_delta":
            self.usage.update(event.get("usage") or {})
            reason = (event.get("delta") or {}).get("stop_reason")
            return [self._chunk({}, TO_OPENAI_FINISH.get(reason or "", "stop"))]
        if kind == "message_stop":
            return [orjson.dumps({"id": self.id, "object": "chat.completion.chunk",
                                  "created": self.created, "model": self.model, "choices": [],
                                  "usage": openai_usage(self.usage)})]
        return []  # ping, content_block_stop, unknown future events

    def _delta(self, event: dict[str, Any]) -> list[bytes]:
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})]
        if delta.get("type") == "input_json_delta":
            index = self.tools.get(event.get("index", 0), 0)
            return [self._chunk({"tool_calls": [{
                "index": index, "function": {"arguments": delta.get("partial_json", "")}}]})]
        return []  # thinking and signature deltas have no OpenAI counterpart


# -- Anthropic request -> OpenAI request (the /v1/messages endpoint) ------------------------

def _openai_parts(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif block.get("type") == "image":
            source = block.get("source") or {}
            url = (f"data:{source.get('media_type')};base64,{source.get('data')}"
                   if source.get("type") == "base64" else source.get("url", ""))
            parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


def _simplify(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _from_user(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    for block in content:
        if block.get("type") == "tool_result":
            inner = block.get("content")
            text = inner if isinstance(inner, str) else text_of(inner or [])
            out.append({"role": "tool", "tool_call_id": block.get("tool_use_id", ""),
                        "content": text})
    parts = _openai_parts(content)
    if parts:
        out.append({"role": "user", "content": _simplify(parts)})
    return out


def _from_assistant(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    text = "".join(b.get("text", "") for b in content if b.get("type") == "text")
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    calls = [{"id": b.get("id", ""), "type": "function",
              "function": {"name": b.get("name", ""),
                           "arguments": orjson.dumps(b.get("input") or {}).decode()}}
             for b in content if b.get("type") == "tool_use"]
    if calls:
        message["tool_calls"] = calls
    return message


def _from_tool_choice(choice: dict[str, Any]) -> Any:
    kind = choice.get("type")
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    return {"any": "required", "none": "none"}.get(str(kind), "auto")


def openai_request(body: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic Messages request (already checked) as a chat-completions body."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system",
                         "content": system if isinstance(system, str) else text_of(system)})
    for message in body["messages"]:
        if message["role"] == "assistant":
            messages.append(_from_assistant(message["content"]))
        else:
            messages.extend(_from_user(message["content"]))
    out: dict[str, Any] = {"model": body["model"], "messages": messages,
                           "max_tokens": body["max_tokens"]}
    for name in ("temperature", "top_p", "stream"):
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    if body.get("tools"):
        out["tools"] = [{"type": "function", "function": {
            "name": t.get("name", ""), "description": t.get("description", ""),
            "parameters": t.get("input_schema") or {"type": "object", "properties": {}}}}
            for t in body["tools"]]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        out["tool_choice"] = _from_tool_choice(choice)
        if choice.get("disable_parallel_tool_use"):
            out["parallel_tool_calls"] = False
    user = (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str):
        out["user"] = user
    return out


# -- OpenAI answer -> Anthropic answer (the /v1/messages endpoint) --------------------------

def anthropic_usage(usage: Any) -> dict[str, int]:
    usage = usage if isinstance(usage, dict) else {}
    return {"input_tokens": int(usage.get("prompt_tokens") or 0),
            "output_tokens": int(usage.get("completion_tokens") or 0)}


def anthropic_answer(answer: dict[str, Any]) -> dict[str, Any]:
    choices = answer.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "input": arguments_of(function.get("arguments"))})
    msg_id = str(answer.get("id") or "msg")
    return {"id": msg_id if msg_id.startswith("msg") else f"msg_{msg_id}", "type": "message",
            "role": "assistant", "model": answer.get("model", ""), "content": content,
            "stop_reason": TO_ANTHROPIC_STOP.get(choice.get("finish_reason") or "stop",
                                                 "end_turn"),
            "stop_sequence": None, "usage": anthropic_usage(answer.get("usage"))}


# -- OpenAI chunks -> Anthropic stream events (the /v1/messages endpoint) -------------------

def sse_event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class OpenAIToAnthropic:
    """Feed each OpenAI chunk; get Anthropic's named SSE events. `finish()` closes the message."""

    def __init__(self) -> None:
        self.started = False
        self.block: int = -1          # index of the open content block, -1 when none
        self.block_kind = ""
        self.tool_blocks: dict[int, int] = {}  # OpenAI tool call index -> block index
        self.stop_reason = "end_turn"
        self.usage: dict[str, int] = {"input_tokens": 0, "output_tokens": 0}

    def _start(self, chunk: dict[str, Any]) -> list[bytes]:
        self.started = True
        msg_id = str(chunk.get("id") or "msg")
        message = {"id": msg_id if msg_id.startswith("msg") else f"msg_{msg_id}",
                   "type": "message", "role": "assistant", "model": chunk.get("model", ""),
                   "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": dict(self.usage)}
        return [sse_event("message_start", {"type": "message_start", "message": message})]

    def _close_block(self) -> list[bytes]:
        if self.block < 0 or not self.block_kind:
            return []
        self.block_kind = ""
        return [sse_event("content_block_stop",
                          {"type": "content_block_stop", "index": self.block})]

    def _open(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        out = self._close_block()
        self.block += 1
        self.block_kind = kind
        out.append(sse_event("content_block_start", {"type": "content_block_start",
                                                     "index": self.block,
                                                     "content_block": block}))
        return out

    def feed(self, chunk: dict[str, Any]) -> list[bytes]:
        out = [] if self.started else self._start(chunk)
        if isinstance(chunk.get("usage"), dict):
            self.usage = anthropic_usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if self.block_kind != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                out.append(sse_event("content_block_delta", {
                    "type": "content_block_delta", "index": self.block,
                    "delta": {"type": "text_delta", "text": delta["content"]}}))
            for call in delta.get("tool_calls") or []:
                out += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.stop_reason = TO_ANTHROPIC_STOP.get(choice["finish_reason"], "end_turn")
        return out

    def _tool_delta(self, call: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        index = call.get("index", 0)
        function = call.get("function") or {}
        if index not in self.tool_blocks:
            out += self._open("tool_use", {"type": "tool_use", "id": call.get("id", ""),
                                           "name": function.get("name", ""), "input": {}})
            self.tool_blocks[index] = self.block
        if function.get("arguments"):
            out.append(sse_event("content_block_delta", {
                "type": "content_block_delta", "index": self.tool_blocks[index],
                "delta": {"type": "input_json_delta", "partial_json": function["arguments"]}}))
        return out

    def finish(self) -> bytes:
        out = [] if self.started else self._start({})
        out += self._close_block()
        out.append(sse_event("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": self.usage["output_tokens"]}}))
        out.append(sse_event("message_stop", {"type": "message_stop"}))
        return b"".join(out)
