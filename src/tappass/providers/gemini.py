"""Google Gemini (`generateContent`, `streamGenerateContent?alt=sse`): `gemini-*` models.

Chat-completions messages become `contents` (roles `user` / `model`), system messages the
`systemInstruction`, tools `functionDeclarations`; the answer's parts, `finishReason` and
`usageMetadata` come back in OpenAI's shape. Each streamed event is a whole
GenerateContentResponse holding the next piece.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import orjson

from tappass.providers.answers import invalid
from tappass.providers.anthropic import parse_object
from tappass.providers.anthropic_wire import arguments_of, text_of
from tappass.providers.http import Call
from tappass.providers.openai_compat import KeySource

DEFAULT_URL = "https://generativelanguage.googleapis.com/v1beta"
FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
          "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
          "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
          "IMAGE_SAFETY": "content_filter"}
_MIME = {"png": "image/png", "gif": "image/gif", "webp": "image/webp"}


def _image_part(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        mime, _, data = url[5:].partition(";base64,")
        return {"inlineData": {"mimeType": mime, "data": data}}
    mime = _MIME.get(url.rsplit(".", 1)[-1].lower(), "image/jpeg")
    return {"fileData": {"mimeType": mime, "fileUri": url}}


def _user_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[dict[str, Any]] = []
    for part in content or []:
        if part.get("type") == "text":
            parts.append({"text": part["text"]})
        elif part.get("type") == "image_url":
            parts.append(_image_part(part["image_url"]["url"]))
    return parts


def _model_parts(message: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if text:
        parts.append({"text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        names[call.get("id", "")] = function.get("name", "")
        parts.append({"functionCall": {"name": function.get("name", ""),
                                       "args": arguments_of(function.get("arguments"))}})
    return parts


def _add(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _generation_config(body: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"),
                         ("n", "candidateCount"), ("seed", "seed")):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit:
        config["maxOutputTokens"] = limit
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    return config


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice in ("auto", "required", "none"):
        mode = {"auto": "AUTO", "required": "ANY", "none": "NONE"}[choice]
        return {"functionCallingConfig": {"mode": mode}}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames":
                                          [choice["function"].get("name", "")]}}
    return None


def to_gemini_request(body: dict[str, Any]) -> dict[str, Any]:
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name (results name the function)
    for message in body["messages"]:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(text_of(message.get("content")))
        elif role == "assistant":
            _add(contents, "model", _model_parts(message, names))
        elif role == "tool":
            name = names.get(message.get("tool_call_id", ""), "tool")
            _add(contents, "user", [{"functionResponse": {
                "name": name, "response": {"content": text_of(message.get("content"))}}}])
        else:
            _add(contents, "user", _user_parts(message.get("content")))
    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config = _generation_config(body)
    if config:
        out["generationConfig"] = config
    if body.get("tools"):
        out["tools"] = [{"functionDeclarations": [
            {"name": t["function"]["name"], "description": t["function"].get("description", ""),
             **({"parameters": t["function"]["parameters"]}
                if t["function"].get("parameters") else {})}
            for t in body["tools"] if t.get("type") == "function"]}]
        tool_config = _tool_config(body.get("tool_choice"))
        if tool_config:
            out["toolConfig"] = tool_config
    return out


def openai_usage(metadata: Any) -> dict[str, int] | None:
    if not isinstance(metadata, dict):
        return None
    prompt = int(metadata.get("promptTokenCount") or 0)
    completion = (int(metadata.get("candidatesTokenCount") or 0)
                  + int(metadata.get("thoughtsTokenCount") or 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": int(metadata.get("totalTokenCount") or prompt + completion)}


def _pieces(candidate: dict[str, Any], first_call: int) -> tuple[str, list[dict[str, Any]]]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if isinstance(part.get("text"), str) and not part.get("thought"):
            texts.append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            calls.append({"index": first_call + len(calls),
                          "id": call.get("id") or f"call_{first_call + len(calls)}",
                          "type": "function",
                          "function": {"name": call.get("name", ""),
                                       "arguments": orjson.dumps(call.get("args") or {})
                                       .decode()}})
    return "".join(texts), calls


def _finish(candidate: dict[str, Any], has_calls: bool) -> str | None:
    reason = candidate.get("finishReason")
    if not reason:
        return None
    if has_calls and reason == "STOP":
        return "tool_calls"
    return FINISH.get(str(reason), "stop")


def openai_answer(data: dict[str, Any], model: str) -> dict[str, Any]:
    candidates = data.get("candidates") or [{}]
    text, calls = _pieces(candidates[0], 0)
    message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
    if calls:
        message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
    finish = _finish(candidates[0], bool(calls)) or (
        "content_filter" if (data.get("promptFeedback") or {}).get("blockReason") else "stop")
    answer: dict[str, Any] = {
        "id": data.get("responseId") or "gemini", "object": "chat.completion",
        "created": int(time.time()), "model": data.get("modelVersion") or model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish}]}
    usage = openai_usage(data.get("usageMetadata"))
    if usage is not None:
        answer["usage"] = usage
    return answer


class GeminiReader:
    def __init__(self, provider: str, model: str) -> None:
        self._provider = provider
        self._base = {"id": "gemini", "object": "chat.completion.chunk",
                      "created": int(time.time()), "model": model}
        self._started = False
        self._calls = 0
        self._usage: dict[str, int] | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return orjson.dumps({**self._base, "choices": [{"index": 0, "delta": delta,
                                                        "logprobs": None,
                                                        "finish_reason": finish}]})

    def feed(self, event: str | None, payload: bytes) -> list[bytes]:
        data = parse_object(self._provider, payload, "a stream event")
        out: list[bytes] = []
        if not self._started:
            self._started = True
            self._base["id"] = data.get("responseId") or "gemini"
            out.append(self._chunk({"role": "assistant", "content": ""}))
        self._usage = openai_usage(data.get("usageMetadata")) or self._usage
        candidates = data.get("candidates") or []
        if not candidates:
            return out
        text, calls = _pieces(candidates[0], self._calls)
        self._calls += len(calls)
        if text:
            out.append(self._chunk({"content": text}))
        if calls:
            out.append(self._chunk({"tool_calls": calls}))
        finish = _finish(candidates[0], self._calls > 0)
        if finish:
            out.append(self._chunk({}, finish))
        return out

    def close(self) -> list[bytes]:
        if self._usage is None:
            return []
        return [orjson.dumps({**self._base, "choices": [], "usage": self._usage})]


class GeminiDialect:
    framing = "sse"

    def __init__(self, base_url: str, key: KeySource) -> None:
        self._base = base_url.rstrip("/")
        self._key = key

    def call(self, body: dict[str, Any], *, stream: bool) -> Call:
        model = quote(str(body["model"]).removeprefix("models/"), safe="")
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        headers = {"Content-Type": "application/json"}
        key = self._key()
        if key:
            headers["x-goog-api-key"] = key
        return Call(f"{self._base}/models/{model}:{method}",
                    orjson.dumps(to_gemini_request(body)), headers)

    def answer(self, provider: str, raw: bytes, model: str) -> tuple[dict[str, Any], bytes]:
        data = parse_object(provider, raw, "an answer")
        if not isinstance(data.get("candidates"), list) and not data.get("promptFeedback"):
            raise invalid(provider, "an answer without 'candidates'")
        answer = openai_answer(data, model)
        return answer, orjson.dumps(answer)

    def reader(self, provider: str, model: str) -> GeminiReader:
        return GeminiReader(provider, model)
