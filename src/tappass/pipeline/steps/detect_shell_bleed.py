"""detect_shell_bleed (alias shell_bleed): blocks shell command chains in text bound for a
tool.

Tool results (`tool` / `function` messages), the arguments of tool calls the conversation
carries, and, placed after the call, the tool-call arguments of the answer are scanned at
the sensitivity's score (`low` 0.9, `medium` 0.75, `high` 0.5). User and system text is
prose more often than a command, so there only findings scoring 0.85 or more count (a
chain into a destructive or network command, a redirection into a sensitive path, a fork
bomb): a shell tutorial with `make clean && rm -rf build/` passes. Assistant prose is not
scanned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.detect.scan import Detector
from tappass.detect.threats.shell import detect_shell_bleed
from tappass.pipeline.options import ThreatOptions
from tappass.pipeline.step import Finding
from tappass.pipeline.steps._threat_detection import ThreatStep, located
from tappass.tools.calls import history_calls, string_values

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

PROSE_FLOOR = 0.85
TOOL_BOUND = frozenset({"tool", "function", "tool_call"})


def call_arguments(ctx: Context) -> list[tuple[str, str]]:
    """(where, text) of every string argument of the tool calls in the conversation."""
    return [(f"tool call {call.name}.{path}", value)
            for call in history_calls(ctx.body)
            for path, value in string_values(call.arguments if call.parsed
                                             else call.raw_arguments)]


class DetectShellBleed(ThreatStep):
    id = "detect_shell_bleed"
    what = "shell command"

    Options = ThreatOptions

    def detector(self, options: Any) -> tuple[str, Detector]:
        return "shell_bleed", detect_shell_bleed

    def floor(self, role: str) -> float | None:
        if role == "assistant":
            return None
        return self.threshold if role in TOOL_BOUND else max(self.threshold, PROSE_FLOOR)

    def extra(self, ctx: Context) -> list[Finding]:
        return [located(f, where) for where, text in call_arguments(ctx)
                for f in detect_shell_bleed(text)
                if f.score >= self.threshold and not self.exempt(text, f)]
