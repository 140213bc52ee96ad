"""What the gateway tells about governance, and the answer of `agent.chat(...)`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import unquote

from tappass.sdk._models import ChatCompletion, ChatCompletionMessageToolCall, CompletionUsage

__all__ = ["ChatResponse", "Governance", "StepVerdict", "WouldBlock"]


class StepVerdict(NamedTuple):
    """A step that ran and its verdict (`allow`, `flag`, `block`, `skipped`, ...)."""

    step: str
    verdict: str


class WouldBlock(NamedTuple):
    """A step that would have blocked the request in enforce mode, and why."""

    step: str
    reason: str


@dataclass(frozen=True)
class Governance:
    """The governance outcome of one request, read from the `X-TapPass-*` response headers.

    `would_block` is filled in observe mode only: what enforce mode would have blocked.
    """

    audit_id: str | None = None
    pipeline: str | None = None
    mode: str | None = None
    flags: dict[str, str] = field(default_factory=dict)
    classification: str | None = None
    steps: list[StepVerdict] = field(default_factory=list)
    would_block: list[WouldBlock] = field(default_factory=list)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Governance:
        """Parse the headers; absent or malformed parts are left empty, never raised."""
        return cls(
            audit_id=headers.get("x-tappass-audit-id"),
            pipeline=headers.get("x-tappass-pipeline"),
            mode=headers.get("x-tappass-mode"),
            flags=dict(_pairs(headers.get("x-tappass-flags"), "=")),
            classification=headers.get("x-tappass-classification"),
            steps=[StepVerdict(k, v) for k, v in _pairs(headers.get("x-tappass-steps"), "=")],
            would_block=[WouldBlock(k, unquote(v))
                         for k, v in _pairs(headers.get("x-tappass-would-block"), ":")],
        )

    def verdict(self, step: str) -> str | None:
        """The verdict of `step` (the last one if it ran in several phases), else None."""
        found = [v for s, v in self.steps if s == step]
        return found[-1] if found else None


def _pairs(text: str | None, sep: str) -> list[tuple[str, str]]:
    """Split `a=b, c=d` (or `a:b, c:d`) into pairs, skipping malformed parts."""
    out: list[tuple[str, str]] = []
    for part in (text or "").split(","):
        key, found, value = part.strip().partition(sep)
        if found and key:
            out.append((key.strip(), value.strip()))
    return out


@dataclass(frozen=True)
class ChatResponse:
    """The answer of `agent.chat(...)`: the text, token usage and governance outcome.

    `completion` is the full OpenAI-shaped `ChatCompletion`.
    """

    completion: ChatCompletion
    governance: Governance

    @property
    def content(self) -> str | None:
        """The assistant's text (None when it answered only with tool calls)."""
        message = self._message
        return message.content if message is not None else None

    @property
    def tool_calls(self) -> list[ChatCompletionMessageToolCall]:
        message = self._message
        return list(message.tool_calls or []) if message is not None else []

    @property
    def usage(self) -> CompletionUsage | None:
        usage: CompletionUsage | None = self.completion.usage
        return usage

    @property
    def audit_id(self) -> str | None:
        return self.governance.audit_id

    @property
    def model(self) -> str | None:
        model: str | None = self.completion.model
        return model

    @property
    def finish_reason(self) -> str | None:
        choices = self.completion.choices or []
        return choices[0].finish_reason if choices else None

    @property
    def _message(self) -> Any:
        choices = self.completion.choices or []
        return choices[0].message if choices else None

    def __str__(self) -> str:
        return self.content or ""
