"""AWS Bedrock's Converse and ConverseStream APIs: `bedrock/<model id>`.

Requests are signed with SigV4 by botocore's own signer (or carry a Bedrock API key as a
bearer token); ConverseStream's binary event-stream framing is decoded by botocore too
(`pip install 'tappass[bedrock]'`). Messages, system prompts, images (as data: URLs), tools,
usage and stop reasons are translated both ways.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from tappass.errors import ProviderError
from tappass.providers.answers import invalid
from tappass.providers.anthropic import parse_object
from tappass.providers.anthropic_wire import arguments_of, text_of
from tappass.providers.http import Call, upstream_message

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
          "model_context_window_exceeded": "length", "tool_use": "tool_calls",
          "guardrail_intervened": "content_filter", "content_filtered": "content_filter"}


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    access_key_id: str | None
    secret_access_key: str | None
    session_token: str | None = None
    bearer_token: str | None = None   # a Bedrock API key, used instead of SigV4 when set


def _image(url: str) -> dict[str, Any]:
    if not (url.startswith("data:image/") and ";base64," in url):
        raise ProviderError("provider 'bedrock' takes images only as data: URLs "
                            "(data:image/png;base64,...)", status=400,
                            code="upstream_rejected", provider="bedrock")
    mime, _, data = url[5:].partition(";base64,")
    return {"image": {"format": mime.removeprefix("image/"), "source": {"bytes": data}}}


def _user_content(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    out: list[dict[str, Any]] = []
    for part in content or []:
        if part.get("type") == "text":
            out.append({"text": part["text"]})
        elif part.get("type") == "image_url":
            out.append(_image(part["image_url"]["url"]))
    return out


def _assistant_content(message: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if text:
        out.append({"text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        out.append({"toolUse": {"toolUseId": call.get("id", ""),
                                "name": function.get("name", ""),
                                "input": arguments_of(function.get("arguments"))}})
    return out


def _add(messages: list[dict[str, Any]], role: str, content: list[dict[str, Any]]) -> None:
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(content)
    else:
        messages.append({"role": role, "content": content})


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"tool": {"name": choice["function"].get("name", "")}}
    return None


def to_converse_request(body: dict[str, Any]) -> dict[str, Any]:
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in body["messages"]:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append({"text": text_of(message.get("content"))})
        elif role == "assistant":
            _add(messages, "assistant", _assistant_content(message))
        elif role == "tool":
            _add(messages, "user", [{"toolResult": {
                "toolUseId": message.get("tool_call_id", ""),
                "content": [{"text": text_of(message.get("content"))}]}}])
        else:
            _add(messages, "user", _user_content(message.get("content")))
    out: dict[str, Any] = {"messages": messages}
    if system:
        out["system"] = system
    config: dict[str, Any] = {}
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit:
        config["maxTokens"] = limit
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP")):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    if body.get("stop"):
        config["stopSequences"] = ([body["stop"]] if isinstance(body["stop"], str)
                                   else list(body["stop"]))
    if config:
        out["inferenceConfig"] = config
    if body.get("tools") and body.get("tool_choice") != "none":
        tools: dict[str, Any] = {"tools": [{"toolSpec": {
            "name": t["function"]["name"], "description": t["function"].get("description", ""),
            "inputSchema": {"json": t["function"].get("parameters")
                            or {"type": "object", "properties": {}}}}}
            for t in body["tools"] if t.get("type") == "function"]}
        choice = _tool_choice(body.get("tool_choice"))
        if choice:
            tools["toolChoice"] = choice
        out["toolConfig"] = tools
    return out


def openai_usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("inputTokens") or 0)
    completion = int(usage.get("outputTokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": int(usage.get("totalTokens") or prompt + completion)}


def openai_answer(data: dict[str, Any], model: str) -> dict[str, Any]:
    message = (data.get("output") or {}).get("message") or {}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            use = block["toolUse"]
            calls.append({"id": use.get("toolUseId", ""), "type": "function",
                          "function": {"name": use.get("name", ""),
                                       "arguments": orjson.dumps(use.get("input") or {})
                                       .decode()}})
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None,
                             "refusal": None}
    if calls:
        reply["tool_calls"] = calls
    answer: dict[str, Any] = {
        "id": "bedrock", "object": "chat.completion", "created": int(time.time()),
        "model": model, "choices": [{"index": 0, "message": reply, "logprobs": None,
                                     "finish_reason": FINISH.get(str(data.get("stopReason")),
                                                                 "stop")}]}
    usage = openai_usage(data.get("usage"))
    if usage is not None:
        answer["usage"] = usage
    return answer


class BedrockReader:
    def __init__(self, provider: str, model: str) -> None:
        self._provider = provider
        self._base = {"id": "bedrock", "object": "chat.completion.chunk",
                      "created": int(time.time()), "model": model}
        self._tools: dict[int, int] = {}   # content block index -> tool call index

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return orjson.dumps({**self._base, "choices": [{"index": 0, "delta": delta,
                                                        "logprobs": None,
                                                        "finish_reason": finish}]})

    def feed(self, event: str | None, payload: bytes) -> list[bytes]:
        if event is not None and event.startswith("!"):
            raise ProviderError(f"provider {self._provider!r} failed mid-stream: "
                                f"{event[1:]}: {upstream_message(payload)}",
                                provider=self._provider, retryable=True,
                                detail=f"stream exception {event[1:]}")
        data = parse_object(self._provider, payload, "a stream event")
        if event == "messageStart":
            return [self._chunk({"role": "assistant", "content": ""})]
        if event == "contentBlockStart":
            use = (data.get("start") or {}).get("toolUse")
            if not isinstance(use, dict):
                return []
            index = self._tools[data.get("contentBlockIndex", 0)] = len(self._tools)
            return [self._chunk({"tool_calls": [{
                "index": index, "id": use.get("toolUseId", ""), "type": "function",
                "function": {"name": use.get("name", ""), "arguments": ""}}]})]
        if event == "contentBlockDelta":
            delta = data.get("delta") or {}
            if isinstance(delta.get("text"), str):
                return [self._chunk({"content": delta["text"]})]
            if isinstance(delta.get("toolUse"), dict):
                index = self._tools.get(data.get("contentBlockIndex", 0), 0)
                return [self._chunk({"tool_calls": [{"index": index, "function": {
                    "arguments": delta["toolUse"].get("input", "")}}]})]
            return []
        if event == "messageStop":
            return [self._chunk({}, FINISH.get(str(data.get("stopReason")), "stop"))]
        if event == "metadata":
            usage = openai_usage(data.get("usage"))
            if usage is not None:
                return [orjson.dumps({**self._base, "choices": [], "usage": usage})]
        return []

    def close(self) -> list[bytes]:
        return []


def _signed_headers(url: str, payload: bytes, credentials: AwsCredentials,
                    region: str) -> dict[str, str]:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise ProviderError("provider 'bedrock' needs botocore: pip install 'tappass[bedrock]'",
                            status=503, code="provider_not_configured",
                            provider="bedrock") from None
    request = AWSRequest(method="POST", url=url, data=payload,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(credentials.access_key_id, credentials.secret_access_key,
                          credentials.session_token), "bedrock", region).add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


class BedrockDialect:
    framing = "aws-eventstream"

    def __init__(self, base_url: str, region: str,
                 credentials: Callable[[], AwsCredentials]) -> None:
        self._base = base_url.rstrip("/")
        self._region = region
        self._credentials = credentials

    def call(self, body: dict[str, Any], *, stream: bool) -> Call:
        model = quote(str(body["model"]), safe="")
        url = f"{self._base}/model/{model}/{'converse-stream' if stream else 'converse'}"
        payload = orjson.dumps(to_converse_request(body))
        credentials = self._credentials()
        if credentials.bearer_token:
            return Call(url, payload, {"Content-Type": "application/json",
                                       "Authorization": f"Bearer {credentials.bearer_token}"})
        return Call(url, payload, _signed_headers(url, payload, credentials, self._region))

    def answer(self, provider: str, raw: bytes, model: str) -> tuple[dict[str, Any], bytes]:
        data = parse_object(provider, raw, "an answer")
        if not isinstance(data.get("output"), dict):
            raise invalid(provider, "an answer without 'output'")
        answer = openai_answer(data, model)
        return answer, orjson.dumps(answer)

    def reader(self, provider: str, model: str) -> BedrockReader:
        return BedrockReader(provider, model)
