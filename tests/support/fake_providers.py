"""Fakes of Anthropic, Gemini, Azure OpenAI and Bedrock, speaking their documented wire
formats (payloads shaped as the providers' API references show them). Served by the same
FakeUpstream as the OpenAI fake, under their own paths:

    /v1/messages                            Anthropic Messages (x-api-key)
    /gemini/models/<m>:generateContent      Gemini (x-goog-api-key); :streamGenerateContent
    /azure/openai/deployments/<d>/chat/completions?api-version=...   Azure (api-key)
    /azure/openai/v1/chat/completions       Azure v1 path
    /bedrock/model/<id>/converse            Bedrock Converse (SigV4); /converse-stream

Each answers "upstream says: <last user text>" with 10 prompt and 5 completion tokens; the
model `tool-caller` asks for `get_weather(city="Paris")`, `fail-500` fails with a 500 in
that provider's error shape.
"""

from __future__ import annotations

import binascii
import struct
from typing import Any

import orjson

ANTHROPIC_KEY = "sk-ant-test"
GEMINI_KEY = "gemini-test-key"
AZURE_KEY = "azure-test-key"
AWS_KEY_ID = "AKIDEXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

Reply = tuple[int, str, list[bytes]]   # status, content type, body pieces


def _json(status: int, payload: Any) -> Reply:
    return status, "application/json", [orjson.dumps(payload)]


def _last_text(messages: list[dict[str, Any]], key: str = "content") -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get(key)
        if isinstance(content, str):
            return content
        for block in content or []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                return str(block["text"])
    return ""


# -- Anthropic -------------------------------------------------------------------------------

def _sse(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def anthropic(headers: dict[str, str], body: dict[str, Any], keys: set[str]) -> Reply:
    if headers.get("x-api-key") not in keys or headers.get("anthropic-version") != "2023-06-01":
        return _json(401, {"type": "error", "error": {"type": "authentication_error",
                                                      "message": "invalid x-api-key"}})
    model = body.get("model", "")
    if model == "fail-500":
        return _json(529, {"type": "error", "error": {"type": "overloaded_error",
                                                      "message": "Overloaded"}})
    text = f"upstream says: {_last_text(body['messages'])}"
    tool = model == "tool-caller"
    content: list[dict[str, Any]] = (
        [{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9",
          "name": "get_weather", "input": {"city": "Paris"}}] if tool
        else [{"type": "text", "text": text}])
    stop = "tool_use" if tool else "end_turn"
    if not body.get("stream"):
        return _json(200, {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message",
                           "role": "assistant", "content": content, "model": model,
                           "stop_reason": stop, "stop_sequence": None,
                           "usage": {"input_tokens": 10, "output_tokens": 5}})
    events = [_sse("message_start", {"type": "message_start", "message": {
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message",
        "role": "assistant", "content": [], "model": model, "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}})]
    if tool:
        events += [
            _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                         "content_block": {**content[0], "input": {}}}),
            _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
                "type": "input_json_delta", "partial_json": '{"city": '}}),
            _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
                "type": "input_json_delta", "partial_json": '"Paris"}'}})]
    else:
        events += [_sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "text", "text": ""}}),
                   _sse("ping", {"type": "ping"})]
        events += [_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": piece}})
                   for piece in ("upstream ", "says: ", _last_text(body["messages"]))]
    events += [_sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
               _sse("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": stop, "stop_sequence": None},
                                      "usage": {"output_tokens": 5}}),
               _sse("message_stop", {"type": "message_stop"})]
    return 200, "text/event-stream", events


# -- Gemini ----------------------------------------------------------------------------------

def _gemini_text(body: dict[str, Any]) -> str:
    return _last_text([{"role": c.get("role"), "content": c.get("parts")}
                       for c in body.get("contents", [])])


def gemini(path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
    if headers.get("x-goog-api-key") != GEMINI_KEY:
        return _json(400, {"error": {"code": 400, "message": "API key not valid. Please pass "
                                     "a valid API key.", "status": "INVALID_ARGUMENT"}})
    model = path.split("/models/", 1)[1].split(":", 1)[0]
    if model == "fail-500":
        return _json(500, {"error": {"code": 500, "message": "An internal error has occurred.",
                                     "status": "INTERNAL"}})
    usage = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}
    if model == "tool-caller":
        parts: list[dict[str, Any]] = [{"functionCall": {"name": "get_weather",
                                                         "args": {"city": "Paris"}}}]
    else:
        parts = [{"text": f"upstream says: {_gemini_text(body)}"}]
    if ":streamGenerateContent" not in path:
        return _json(200, {"candidates": [{"content": {"parts": parts, "role": "model"},
                                           "finishReason": "STOP", "index": 0}],
                           "usageMetadata": usage, "modelVersion": model,
                           "responseId": "resp-gemini-1"})
    pieces = ([parts] if model == "tool-caller" else
              [[{"text": "upstream "}], [{"text": "says: "}], [{"text": _gemini_text(body)}]])
    events = []
    for i, piece in enumerate(pieces):
        candidate: dict[str, Any] = {"content": {"parts": piece, "role": "model"}, "index": 0}
        event: dict[str, Any] = {"candidates": [candidate], "modelVersion": model,
                                 "responseId": "resp-gemini-1"}
        if i == len(pieces) - 1:
            candidate["finishReason"] = "STOP"
            event["usageMetadata"] = usage
        events.append(b"data: " + orjson.dumps(event) + b"\r\n\r\n")
    return 200, "text/event-stream", events


# -- Azure OpenAI ----------------------------------------------------------------------------

def azure_path_ok(path: str, query: str, body: dict[str, Any]) -> bool:
    if path == "/azure/openai/v1/chat/completions":
        return "api-version" not in query
    prefix = "/azure/openai/deployments/"
    return (path.startswith(prefix) and path.endswith("/chat/completions")
            and "api-version=" in query)


# -- Bedrock ---------------------------------------------------------------------------------

def _header(name: str, value: str) -> bytes:
    raw = value.encode()
    return bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of AWS's binary event-stream framing (prelude, headers, payload, CRCs)."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + head + payload
    return message + struct.pack(">I", binascii.crc32(message))


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return event_message({":event-type": kind, ":content-type": "application/json",
                          ":message-type": "event"}, orjson.dumps(data))


def bedrock(path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
    auth = headers.get("authorization", "")
    if not (auth.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/")
            and "/bedrock/aws4_request" in auth and "Signature=" in auth
            and headers.get("x-amz-date")):
        return _json(403, {"message": "The security token included in the request is "
                                      "invalid."})
    model = path.split("/model/", 1)[1].rsplit("/", 1)[0]
    if model == "fail-500":
        return _json(500, {"message": "Internal server error"})
    text = _last_text(body.get("messages", []))
    usage = {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}
    tool = model == "tool-caller"
    if not path.endswith("/converse-stream"):
        content = ([{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather",
                                 "input": {"city": "Paris"}}}] if tool
                   else [{"text": f"upstream says: {text}"}])
        return _json(200, {"output": {"message": {"role": "assistant", "content": content}},
                           "stopReason": "tool_use" if tool else "end_turn", "usage": usage,
                           "metrics": {"latencyMs": 42}})
    events = [_event("messageStart", {"role": "assistant"})]
    if tool:
        events += [_event("contentBlockStart", {"contentBlockIndex": 0, "start": {
                       "toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}}),
                   _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {
                       "toolUse": {"input": '{"city": "Paris"}'}}})]
    else:
        events += [_event("contentBlockDelta", {"contentBlockIndex": 0,
                                                "delta": {"text": piece}})
                   for piece in ("upstream ", "says: ", text)]
    events += [_event("contentBlockStop", {"contentBlockIndex": 0}),
               _event("messageStop", {"stopReason": "tool_use" if tool else "end_turn"}),
               _event("metadata", {"usage": usage, "metrics": {"latencyMs": 42}})]
    return 200, "application/vnd.amazon.eventstream", events


def provider_env(url: str) -> dict[str, str]:
    """Gateway settings pointing every provider at the fake served at `url` (`.../v1`)."""
    root = url.removesuffix("/v1")
    return {"ANTHROPIC_BASE_URL": root, "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
            "GEMINI_BASE_URL": f"{root}/gemini", "GEMINI_API_KEY": GEMINI_KEY,
            "AZURE_OPENAI_ENDPOINT": f"{root}/azure", "AZURE_OPENAI_API_KEY": AZURE_KEY,
            "BEDROCK_BASE_URL": f"{root}/bedrock", "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_REGION": "us-east-1"}
