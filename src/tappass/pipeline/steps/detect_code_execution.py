"""detect_code_execution (alias detect_code_exec): blocks code meant to be run: reverse
shells, download-and-run, encoded PowerShell, dynamic evaluation of decoded code, SQL
stacked queries and command execution, deserialization gadgets; base64 payloads are decoded
and scanned again.

User and tool text and the arguments of tool calls in the conversation are scanned, and,
placed after the call, the answer's tool-call arguments (artifact_verification checks the
answer's content too, reading the same scan). System and developer prompts and assistant
text are not.
Blocks at the sensitivity's score (`low` 0.9, `medium` 0.75, `high` 0.5); a bare `eval(` or
`DROP TABLE` in prose scores below 0.5. `languages` keeps only the listed families.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.detect.scan import Detector
from tappass.detect.threats.code_exec import detect_code_execution, family_of
from tappass.pipeline.options import CodeExecutionOptions
from tappass.pipeline.step import Finding
from tappass.pipeline.steps._threat_detection import ThreatStep, located
from tappass.pipeline.steps.detect_shell_bleed import call_arguments

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

OPERATOR_ROLES = frozenset({"system", "developer", "assistant"})


class DetectCodeExecution(ThreatStep):
    id = "detect_code_execution"
    what = "code execution"

    Options = CodeExecutionOptions

    def __init__(self, options: CodeExecutionOptions, services: Any) -> None:
        super().__init__(options, services)
        self._languages = frozenset(options.languages)

    def detector(self, options: Any) -> tuple[str, Detector]:
        return "code_execution", detect_code_execution

    def floor(self, role: str) -> float | None:
        return None if role in OPERATOR_ROLES else self.threshold

    def counts(self, finding: Finding) -> bool:
        return not self._languages or bool(family_of(finding) & self._languages)

    def extra(self, ctx: Context) -> list[Finding]:
        return [located(f, where) for where, text in call_arguments(ctx)
                for f in detect_code_execution(text)
                if f.score >= self.threshold and self.counts(f) and not self.exempt(text, f)]
