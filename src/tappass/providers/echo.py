"""`tappass/echo`: a demo model that answers with what it received after governance.

It makes the gateway useful with no provider key: the answer shows exactly what a real
provider would have been sent (after masking or other rewriting by the pipeline).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson

MODEL_ID = "tappass/echo"


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _usage(body: dict[str, Any], answer: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages", [])) // 4 + 1
    completion = len(answer) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


class EchoProvider:
    name = "tappass"

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        answer = _last_user_text(body)
        response = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": MODEL_ID,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": answer, "refusal": None}}],
            "usage": _usage(body, answer),
        }
        return response, orjson.dumps(response)

    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        return self._chunks(body)

    async def _chunks(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        answer = _last_user_text(body)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": MODEL_ID}
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        extra = {"usage": None} if with_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return orjson.dumps({**base, "choices": [choice], **extra})

        yield chunk({"role": "assistant", "content": ""}, None)
        for piece in re.findall(r"\S+\s*|\s+", answer):
            yield chunk({"content": piece}, None)
        yield chunk({}, "stop")
        if with_usage:
            yield orjson.dumps({**base, "choices": [], "usage": _usage(body, answer)})

    async def list_models(self) -> list[dict[str, Any]]:
        return [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "tappass-demo",
                 "description": "Demo model: answers with the request it received after "
                                "governance. No provider key needed."}]

    async def close(self) -> None:
        return None
