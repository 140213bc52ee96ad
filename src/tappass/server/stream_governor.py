"""The chunks of a governed stream: text held back and scanned, tool calls judged whole.

`StreamGovernor.feed(chunk)` takes one parsed OpenAI chunk and returns the chunks to send in
its place, each as `(data, payload)` (`payload` is None when the chunk was rebuilt and must
be serialised). A chunk with no answer text (the role chunk, the usage chunk) passes as it
came. Each choice's content goes through a `HeldText` (see `tappass.pipeline.stream_text`),
so what is sent is the governed prefix that can no longer change; its tool calls are
gathered until the choice finishes, then checked whole by the pipeline's `tool_call` step
(permissions, constraints, `tool_call_scan`) and their arguments governed as whole texts,
then sent in one chunk before the finish chunk. Rebuilt chunks keep the upstream's id,
created, model and object, one choice each, OpenAI-shaped.

When a step blocks in enforce mode, `block` is set and nothing more is returned: the
stream ends with the blocked error event (see `tappass.server.streaming`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from tappass.pipeline.context import StepResult
from tappass.pipeline.runner import Block
from tappass.pipeline.step import Action, Decision, Phase, Verdict
from tappass.pipeline.stream_text import HeldText, TextSteps

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.pipeline.steps.tool_call import ToolCallStep

Out = list[tuple[dict[str, Any], bytes | None]]
TOOL_CALL = "tool_call"


class _Choice:
    __slots__ = ("text", "calls", "finished")

    def __init__(self, text: HeldText) -> None:
        self.text = text
        self.calls: dict[int, dict[str, Any]] = {}   # index -> id, type, name, argument parts
        self.finished = False


class StreamGovernor:
    def __init__(self, ctx: Context, steps: TextSteps, gate: ToolCallStep | None) -> None:
        self._ctx = ctx
        self._steps = steps
        self._gate = gate
        self._choices: dict[int, _Choice] = {}
        self._template: dict[str, Any] = {}
        self._tool_block: Block | None = None
        self._recorded = False

    @classmethod
    def of(cls, ctx: Context) -> StreamGovernor | None:
        """The governor for `ctx`'s stream; None when nothing governs it (chunks pass)."""
        steps = TextSteps.of(ctx)
        gate = _tool_gate(ctx)
        if not steps and gate is None:
            return None
        return cls(ctx, steps, gate)

    async def prepare(self) -> None:
        """Let the text steps load what they need before the first chunk (`prepare_stream`,
        optional: pii_restore loads the session's tokens)."""
        await self._steps.prepare(self._ctx)

    @property
    def block(self) -> Block | None:
        if self._tool_block is not None:
            return self._tool_block
        text = self._steps.block
        if text is None:
            return None
        return Block(text.step, Decision(Action.BLOCK, text.verdict.reason))

    def take_results(self) -> dict[str, StepResult]:
        """The outcome of each text-governing step over the stream, for the runner to
        record in the steps' places (once)."""
        self._recorded = True
        return self._steps.results()

    def record_results(self) -> None:
        """For a stream that ends otherwise (failed, cut): what the steps saw until then."""
        if not self._recorded:
            self._ctx.results.extend(self.take_results().values())

    def feed(self, data: dict[str, Any], payload: bytes) -> Out:
        choices = data.get("choices")
        if not choices:
            return [(data, payload)]      # the usage chunk, or a chunk with no choice
        self._template = {k: v for k, v in data.items() if k not in ("choices", "usage")}
        out: Out = []
        for choice in choices:
            if isinstance(choice, dict):
                out += self._choice(choice)
            if self.block is not None:
                return out
        if isinstance(data.get("usage"), dict):   # usage on a chunk with text: kept apart
            out.append(({**self._template, "choices": [], "usage": data["usage"]}, None))
        return out

    def finish(self) -> Out:
        """At the end of the upstream stream: the rest of every choice not finished."""
        out: Out = []
        for index, state in self._choices.items():
            if not state.finished:
                out += self._close(index, state)
                if self.block is not None:
                    break
        return out

    def _state(self, index: int) -> _Choice:
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _Choice(self._steps.held())
        return state

    def _choice(self, choice: dict[str, Any]) -> Out:
        index = choice.get("index", 0)
        index = index if isinstance(index, int) else 0
        state = self._state(index)
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        content = delta.get("content")
        sent = state.text.feed(content) if isinstance(content, str) and content else ""
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            _gather(state.calls, calls)
        rest = {k: v for k, v in delta.items() if k not in ("content", "tool_calls")}
        out: Out = []
        if self.block is not None:
            return out
        if sent or rest:
            if sent or "content" in delta:
                rest["content"] = sent
            out.append(self._chunk(index, rest))
        if choice.get("finish_reason"):
            out += self._close(index, state, choice["finish_reason"])
        return out

    def _close(self, index: int, state: _Choice, finish: str | None = None) -> Out:
        state.finished = True
        out: Out = []
        rest = state.text.finish()
        if self.block is not None:
            return out
        if rest:
            out.append(self._chunk(index, {"content": rest}))
        if state.calls:
            calls, extra = self._governed_calls(state.calls)
            if self.block is not None:
                return out
            out.append(self._chunk(index, {"tool_calls": calls}, extra=extra))
        if finish is not None:
            out.append(self._chunk(index, {}, finish))
        return out

    def _governed_calls(self, gathered: dict[int, dict[str, Any]]
                        ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        calls = [{"index": i, "id": c["id"], "type": c["type"],
                  "function": {"name": c["name"], "arguments": "".join(c["parts"])}}
                 for i, c in sorted(gathered.items())]
        extra: dict[str, Any] = {}
        if self._gate is not None:
            answer: dict[str, Any] = {"choices": [{"message": {"tool_calls": calls}}]}
            self._judge_calls(answer)
            if self.block is not None:
                return calls, extra
            if "tappass" in answer:
                extra["tappass"] = answer["tappass"]
        for call in calls:
            function = call["function"]
            function["arguments"] = self._steps.held(arguments=True).whole(
                function["arguments"])
            if self.block is not None:
                break
        return calls, extra

    def _judge_calls(self, answer: dict[str, Any]) -> None:
        """The `tool_call` step on complete calls; its result replaces the call-phase one."""
        assert self._gate is not None
        ctx = self._ctx
        start = time.perf_counter()
        decision = self._gate.govern_calls(ctx, answer)
        ms = round((time.perf_counter() - start) * 1000, 3)
        if decision is None:
            return
        enforce = ctx.mode == "enforce"
        verdict = (Verdict.WOULD_BLOCK if decision.blocks and not enforce
                   else Verdict(decision.action.value))
        result = StepResult(TOOL_CALL, Phase.CALL, verdict, ms, decision.reason,
                            decision.findings)
        _replace_result(ctx.results, result)
        if decision.blocks and enforce:
            self._tool_block = Block(TOOL_CALL, decision)

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None,
               extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], None]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        # as OpenAI streams it: with include_usage every chunk but the last says usage null
        usage = {"usage": None} if self._ctx.client_wants_usage else {}
        return {**self._template, "choices": [choice], **usage, **(extra or {})}, None


def serialise(data: dict[str, Any], payload: bytes | None) -> bytes:
    return payload if payload is not None else orjson.dumps(data)


def _gather(calls: dict[int, dict[str, Any]], deltas: list[Any]) -> None:
    """Add streamed tool-call deltas to the calls gathered so far."""
    for delta in deltas:
        if not isinstance(delta, dict):
            continue
        index = delta.get("index", 0)
        call = calls.setdefault(index if isinstance(index, int) else 0,
                                {"id": None, "type": "function", "name": "", "parts": []})
        if delta.get("id"):
            call["id"] = delta["id"]
        if delta.get("type"):
            call["type"] = delta["type"]
        function = delta.get("function")
        if isinstance(function, dict):
            if isinstance(function.get("name"), str):
                call["name"] += function["name"]
            if isinstance(function.get("arguments"), str):
                call["parts"].append(function["arguments"])


def _tool_gate(ctx: Context) -> ToolCallStep | None:
    if ctx.mode == "off":
        return None
    for entry in ctx.pipeline.phases[Phase.CALL]:
        if entry.spec.id == TOOL_CALL and entry.step is not None:
            return entry.step  # type: ignore[no-any-return]
    return None


def _replace_result(results: list[StepResult], result: StepResult) -> None:
    for i, existing in enumerate(results):
        if existing.step == result.step and existing.phase is result.phase:
            results[i] = result
            return
    results.append(result)
