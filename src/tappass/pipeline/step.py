"""The step contract: what every governance step is and returns.

A step is a class with an `id`, an `Options` pydantic model (validated when a pipeline is
loaded, so bad configuration fails at load time with its path) and one async method:

    async def run(self, ctx: Context) -> Decision | None

`None` means allow. Detections are *returned* as a Decision, never raised; an exception
means the step itself broke, and the runner fails the request closed. Steps are built once
per pipeline with `Step(options, services)` and must keep no per-request state on `self`.

A step that governs answer text may also govern it piece by piece, so a streamed answer is
governed as it passes (see `tappass.pipeline.stream_text`). It declares `stream_window`,
the most characters one of its findings may span, and implements

    def stream_hold(self, text: str) -> int
    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None

`stream_hold` says where text must wait for more (a PEM block that has begun, a token half
received); `len(text)` when nowhere. `govern_text` reads the shared scan of the pieces and
says what happens to its findings (spans in each scanned text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

if TYPE_CHECKING:
    from collections.abc import Callable

    from tappass.detect.scan import Scan
    from tappass.pipeline.context import Context


class Phase(StrEnum):
    BEFORE = "before"
    CALL = "call"
    AFTER = "after"


class Category(StrEnum):
    ACCESS_CONTROL = "access_control"
    DATA_PROTECTION = "data_protection"
    THREAT_DETECTION = "threat_detection"
    CLASSIFY_AND_PREPARE = "classify_and_prepare"
    ROUTE_AND_EXECUTE = "route_and_execute"
    RESPONSE_SAFETY = "response_safety"
    TRACKING = "tracking"


class Action(StrEnum):
    ALLOW = "allow"
    FLAG = "flag"
    TRANSFORM = "transform"
    BLOCK = "block"
    REQUIRE_APPROVAL = "require_approval"


class Verdict(StrEnum):
    """What the audit trail records for one step of one request."""

    ALLOW = "allow"
    FLAG = "flag"
    TRANSFORM = "transform"
    BLOCK = "block"
    REQUIRE_APPROVAL = "require_approval"
    WOULD_BLOCK = "would_block"     # observe mode: a block that was recorded, not enforced
    SKIPPED = "skipped"             # mode=off, or the step does not apply
    UNAVAILABLE = "unavailable"     # registered, but its implementation has not landed
    ERROR = "error"                 # the step raised or its dependency failed


BLOCKING = frozenset({Action.BLOCK, Action.REQUIRE_APPROVAL})


@dataclass(slots=True, frozen=True)
class Finding:
    type: str
    start: int | None = None
    end: int | None = None
    score: float = 1.0
    explanation: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "start": self.start, "end": self.end,
                "score": self.score, "explanation": self.explanation}


@dataclass(slots=True, frozen=True)
class Decision:
    action: Action
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    status: int = 403                          # HTTP status when this decision blocks
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        return self.action in BLOCKING


ALLOW = Decision(Action.ALLOW)


class Step(Protocol):
    id: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    async def run(self, ctx: Context) -> Decision | None: ...


@dataclass(slots=True, frozen=True)
class TextVerdict:
    """What a step makes of answer texts shown to it piece by piece.

    `findings` are per scanned text, spans in that text. TRANSFORM replaces each finding
    with `label(finding, the text it spans)`; BLOCK refuses; FLAG only records.
    """

    action: Action
    reason: str
    findings: tuple[tuple[Finding, ...], ...]
    label: Callable[[Finding, str], str] | None = None

    @classmethod
    def of(cls, per_text: tuple[tuple[Finding, ...], ...],
           decide: Callable[[list[Finding]], Decision | None]) -> TextVerdict | None:
        """What `decide` makes of all the findings of `per_text` (None: no finding, or no
        decision), with the findings kept per text."""
        findings = [f for found in per_text for f in found]
        decision = decide(findings) if findings else None
        return None if decision is None else cls(decision.action, decision.reason, per_text)


@runtime_checkable
class GovernsText(Protocol):
    """The optional hook of a step that governs answer text piecewise (streams)."""

    stream_window: int      # the most characters one finding may span
    stream_arguments: bool  # whether it also governs tool-call arguments

    def stream_hold(self, text: str) -> int: ...

    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None: ...
