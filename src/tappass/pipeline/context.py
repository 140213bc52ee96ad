"""Per-request state shared by the steps of one pipeline run.

Built once per request after the body is parsed; steps read `body` (the request as it will
be sent upstream), write only the fields they own, and keep private state under
`state[step_id]`.

`ctx.session` is the request's session (shared state across the agent's turns, see
`tappass.sessions`); `ctx.ledger` holds what the request reserved on the budget counters
(see `tappass.spend`). Both are built on first use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tappass.detect.scan import Scan
from tappass.pipeline.step import Finding, Phase, Verdict
from tappass.sessions import Session
from tappass.spend import Ledger

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tappass.pipeline.definition import Pipeline
    from tappass.providers.base import Provider
    from tappass.services import Services
    from tappass.storage.base import AgentRecord


@dataclass(slots=True)
class StepResult:
    step: str
    phase: Phase
    verdict: Verdict
    duration_ms: float
    reason: str = ""
    findings: tuple[Finding, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "phase": self.phase.value,
                               "verdict": self.verdict.value, "duration_ms": self.duration_ms}
        if self.reason:
            out["reason"] = self.reason
        if self.findings:
            out["findings"] = [f.as_dict() for f in self.findings]
        return out


class Context:
    __slots__ = (
        "audit_id", "services", "agent", "pipeline", "flags", "mode", "_session_header",
        "_session", "_ledger",
        "body", "model", "stream", "client_wants_usage", "provider", "upstream_model",
        "response", "response_bytes", "chunks", "usage", "cost_usd", "classification",
        "results", "started", "upstream_ms", "state", "_request_scan",
    )

    def __init__(self, *, audit_id: str, services: Services, agent: AgentRecord,
                 pipeline: Pipeline, flags: dict[str, str], session_id: str | None,
                 body: dict[str, Any]) -> None:
        self.audit_id = audit_id
        self.services = services
        self.agent = agent
        self.pipeline = pipeline
        self.flags = flags
        self.mode = flags.get("mode", "enforce")
        self._session_header = session_id   # as the caller sent it (None: a new session)
        self._session: Session | None = None
        self._ledger: Ledger | None = None
        self.body = body
        self.model: str = body["model"]
        self.stream: bool = bool(body.get("stream"))
        options = body.get("stream_options")
        self.client_wants_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        self.provider: Provider | None = None
        self.upstream_model: str | None = None
        self.response: dict[str, Any] | None = None     # parsed non-streaming answer
        self.response_bytes: bytes | None = None         # the same, as received
        self.chunks: AsyncIterator[bytes] | None = None  # SSE events when streaming
        self.usage: dict[str, Any] | None = None
        self.cost_usd: float | None = None
        self.classification: str | None = None
        self.results: list[StepResult] = []
        self.started = time.perf_counter()
        self.upstream_ms: float | None = None
        self.state: dict[str, Any] = {}
        self._request_scan: Scan | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            services = self.services
            self._session = Session(services.kv, self.agent.name, self._session_header,
                                    services.settings.session_ttl)
        return self._session

    @property
    def session_id(self) -> str:
        return self.session.id

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.services.kv)
        return self._ledger

    def texts(self) -> list[str]:
        """The text parts of every message, in order (for scanners)."""
        out: list[str] = []
        for message in self.body["messages"]:
            content = message.get("content")
            if isinstance(content, str):
                out.append(content)
            elif isinstance(content, list):
                out.extend(p["text"] for p in content
                           if isinstance(p, dict) and isinstance(p.get("text"), str))
        return out

    def request_scan(self) -> Scan:
        """The shared scan of the request's texts, built on first use.

        A step that rewrites the messages (masking, tokenizing) calls `rescan()` after."""
        if self._request_scan is None:
            self._request_scan = Scan(self.texts())
        return self._request_scan

    def rescan(self) -> None:
        self._request_scan = None

    @property
    def would_block(self) -> list[StepResult]:
        return [r for r in self.results if r.verdict is Verdict.WOULD_BLOCK]
