"""A streamed answer's text governed as it passes: only what can no longer change is sent.

The after-phase steps that govern answer text (`GovernsText`, see `tappass.pipeline.step`)
are applied to each streamed text (a choice's content, a tool call's arguments) piece by
piece. `HeldText` gathers the pieces and, once enough new text has come, scans the text not
yet sent (with the last characters sent before it as left context) in one shared `Scan`.
It then sends the prefix that no later character can change:

- it keeps the last `window` characters (the longest a finding of any step may span), and
  cuts after a whitespace, so a token, a key or a value split across chunks is never cut;
- it never cuts inside a finding: a finding that may still be growing waits whole;
- a step may hold more (`stream_hold`: a PEM block until its END line, a half-received
  token).

The prefix is then governed like a whole text, the steps in pipeline order: findings
rewritten with the step's label, a block in enforce mode ends the stream (nothing of the
piece is sent), in observe mode it is recorded as `would_block` and the text goes on. At the
end the rest is governed and sent. `TextSteps` keeps, per step, what it decided over the
whole stream, for the audit event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from tappass.detect.scan import Scan
from tappass.errors import StepError
from tappass.pipeline.context import StepResult
from tappass.pipeline.rewrite import replace_values
from tappass.pipeline.step import (
    BLOCKING,
    Action,
    Finding,
    GovernsText,
    Phase,
    TextVerdict,
    Verdict,
)

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

BATCH = 64            # new characters gathered before the next scan (not one per token)
CONTEXT = 128         # characters already sent, scanned again before the next piece
LONGEST_RUN = 8192    # a whitespace-free run longer than this is cut anyway

Members = list[tuple[str, GovernsText]]   # (step id, step) in pipeline order
_RANK = {Action.FLAG: 1, Action.TRANSFORM: 2, Action.REQUIRE_APPROVAL: 3, Action.BLOCK: 4}
_perf = time.perf_counter


@dataclass(slots=True)
class _Tally:
    """What one step decided over the whole stream."""

    action: Action | None = None
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    ms: float = 0.0
    error: str = ""     # the exception the step raised (the stream then fails closed)


@dataclass(frozen=True, slots=True)
class TextBlock:
    step: str
    verdict: TextVerdict


class TextSteps:
    """The steps of one stream that govern answer text, and what they decided so far."""

    def __init__(self, ctx: Context, steps: Members) -> None:
        self.ctx = ctx
        self.steps = steps
        self.enforce = ctx.mode == "enforce"
        self.block: TextBlock | None = None      # the enforced block that ended the stream
        self._tally = {step_id: _Tally() for step_id, _ in steps}

    @classmethod
    def of(cls, ctx: Context) -> TextSteps:
        """The after-phase steps of `ctx`'s pipeline that govern text (none with mode=off)."""
        off = ctx.mode == "off"
        return cls(ctx, [(entry.spec.id, cast(GovernsText, entry.step))
                         for entry in ctx.pipeline.phases[Phase.AFTER]
                         if entry.governs_text and not (off and entry.spec.governance)
                         and _active(entry.step, ctx)])

    def __bool__(self) -> bool:
        return bool(self.steps)

    async def prepare(self, ctx: Context) -> None:
        """Each step's optional `prepare_stream(ctx)`, before the first chunk."""
        for _, step in self.steps:
            prepare = getattr(step, "prepare_stream", None)
            if prepare is not None:
                await prepare(ctx)

    def held(self, arguments: bool = False) -> HeldText:
        """A new streamed text (a tool call's `arguments` see only the steps that read them)."""
        members = [s for s in self.steps if s[1].stream_arguments] if arguments else self.steps
        return HeldText(self, members)

    def results(self) -> dict[str, StepResult]:
        """Per step, its outcome over the whole stream (as the runner records it)."""
        out = {}
        for step_id, tally in self._tally.items():
            if tally.error:
                verdict = Verdict.ERROR
            elif tally.action is None:
                verdict = Verdict.ALLOW
            elif tally.action in BLOCKING and not self.enforce:
                verdict = Verdict.WOULD_BLOCK
            else:
                verdict = Verdict(tally.action.value)
            out[step_id] = StepResult(step_id, Phase.AFTER, verdict, round(tally.ms, 3),
                                      tally.error or tally.reason, tuple(tally.findings))
        return out

    def judge(self, members: Members, scan: Scan) -> list[TextVerdict | None]:
        """Each step's verdict on the scanned texts (one shared scan for all)."""
        return [self._judge_one(step_id, step, scan) for step_id, step in members]

    def settle(self, members: Members, buffer: str, base: int, cut: int,
               verdicts: list[TextVerdict | None], offset: int) -> str:
        """`buffer[base:cut]` governed by each step in order (`buffer[:base]` was sent
        already and is only context); findings recorded at `offset` in the answer."""
        text = buffer[:cut]
        changed = False
        for (step_id, step), verdict in zip(members, verdicts, strict=True):
            if changed:  # an earlier step rewrote the text: this step reads the new text
                verdict = self._judge_one(step_id, step, Scan((text,)))
            if verdict is None:
                continue
            settled = [f for f in verdict.findings[0] if f.start is not None
                       and f.end is not None and base < f.end <= len(text)]
            if not settled:
                continue
            settled = [replace(f, start=max(f.start or 0, base)) for f in settled]
            self._note(step_id, verdict, settled, offset - base)
            if verdict.action in BLOCKING:
                if self.enforce:
                    self.block = TextBlock(step_id, verdict)
                    return ""
            elif verdict.action is Action.TRANSFORM and verdict.label is not None:
                shifted = [replace(f, start=(f.start or 0) - base, end=(f.end or 0) - base)
                           for f in settled]
                text = text[:base] + replace_values(text[base:], shifted, verdict.label)
                changed = True
        return text[base:]

    def _judge_one(self, step_id: str, step: GovernsText, scan: Scan) -> TextVerdict | None:
        """One step's verdict, timed; a step that raises fails the stream closed."""
        tally = self._tally[step_id]
        start = _perf()
        try:
            return step.govern_text(self.ctx, scan)
        except Exception as exc:
            tally.error = type(exc).__name__
            raise StepError(step_id, f"{type(exc).__name__}: {exc}") from exc
        finally:
            tally.ms += (_perf() - start) * 1000

    def _note(self, step_id: str, verdict: TextVerdict, findings: list[Finding],
              shift: int) -> None:
        tally = self._tally[step_id]
        tally.findings.extend(replace(f, start=(f.start or 0) + shift, end=(f.end or 0) + shift)
                              for f in findings)
        if tally.action is None or _RANK.get(verdict.action, 0) > _RANK.get(tally.action, 0):
            tally.action, tally.reason = verdict.action, verdict.reason


class HeldText:
    """One streamed text: `feed` each piece, send what it returns; `finish` at its end."""

    __slots__ = ("_steps", "_members", "_window", "_pending", "_context", "_sent", "_next")

    def __init__(self, steps: TextSteps, members: Members) -> None:
        self._steps = steps
        self._members = members
        self._window = max((step.stream_window for _, step in members), default=0)
        self._pending = ""   # received, not yet sent
        self._context = ""   # the last characters sent (as received), context of the next scan
        self._sent = 0       # characters of the received text governed and sent
        self._next = self._window + BATCH   # pending length at which to scan again

    def feed(self, piece: str) -> str:
        self._pending += piece
        if len(self._pending) < self._next:
            return ""
        return self._flush(final=False)

    def finish(self) -> str:
        """The rest of the text, governed (nothing is held back at the end)."""
        return self._flush(final=True) if self._pending else ""

    def whole(self, text: str) -> str:
        """A text that arrived whole (a tool call's arguments), governed."""
        self._pending += text
        return self.finish()

    def _flush(self, final: bool) -> str:
        steps = self._steps
        if steps.block is not None:
            return ""   # the stream was blocked: nothing more is sent
        base = len(self._context)
        buffer = self._context + self._pending
        if not self._members:
            self._pending = ""
            return buffer[base:]
        verdicts = steps.judge(self._members, Scan((buffer,)))
        cut = len(buffer) if final else self._cut(buffer, base, verdicts)
        if cut <= base:
            pending = len(self._pending)
            self._next = pending + max(BATCH, pending // 4)
            return ""
        out = steps.settle(self._members, buffer, base, cut, verdicts, self._sent)
        self._sent += cut - base
        self._pending = buffer[cut:]
        self._context = buffer[max(0, cut - CONTEXT):cut]
        self._next = max(self._window + BATCH, len(self._pending) + BATCH)
        return out

    def _cut(self, buffer: str, base: int, verdicts: list[TextVerdict | None]) -> int:
        """Where the part of `buffer` that can no longer change ends."""
        cut = _after_space(buffer, base, len(buffer) - self._window)
        for _, step in self._members:
            cut = min(cut, step.stream_hold(buffer))
        spans = [(max(f.start, base), f.end) for verdict in verdicts if verdict is not None
                 for f in verdict.findings[0] if f.start is not None and f.end is not None]
        moved = True
        while moved:   # a finding across the cut waits whole (and may move it back again)
            moved = False
            for start, end in spans:
                if start < cut < end:
                    cut, moved = start, True
        return cut


def _after_space(text: str, lo: int, hi: int) -> int:
    """Just after the last whitespace in `text[lo:hi]` (`lo` when there is none, unless the
    run is longer than any token worth holding)."""
    if hi <= lo:
        return lo
    at = max(text.rfind(" ", lo, hi), text.rfind("\n", lo, hi), text.rfind("\t", lo, hi))
    if at >= 0:
        return at + 1
    return hi if hi - lo > LONGEST_RUN else lo


def _active(step: Any, ctx: Context) -> bool:
    """A step may say it has nothing to do on this stream (`stream_active(ctx)`, optional:
    pii_restore without pii=tokenize), so a stream it alone would govern passes as sent."""
    active = getattr(step, "stream_active", None)
    return active is None or bool(active(ctx))
