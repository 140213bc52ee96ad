"""tool_call_scan (scan_tool_calls): scans the tool results the request carries back to
the model (secrets, injected instructions), before the provider call so the model never
reads a refused result, and the arguments of tool calls (path traversal, SQL injection, SSRF
to internal addresses, shell metacharacters, secrets, and personal data in tools that send
data out) through `check_call`, which `tool_call` runs on the model's answer and the
decision API on single calls. Placed after the provider call, it scans the answer itself.

Named detectors not installed in this version (see `tappass.tools.detectors`) are listed in
the step's findings as `detector_unavailable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import ToolCallScanOptions
from tappass.pipeline.step import Action, Decision, Finding
from tappass.tools.calls import ToolCall, answer_calls, tool_results
from tappass.tools.scanning import THRESHOLDS, ScanPolicy, scan_call, scan_result

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.tools.gate import ToolRequest


def blocked(findings: list[Finding]) -> Decision:
    first = findings[0]
    return Decision(Action.BLOCK, f"{first.type} in {first.explanation}", tuple(findings))


class ToolCallScan:
    id = "tool_call_scan"

    Options = ToolCallScanOptions

    def __init__(self, options: ToolCallScanOptions, services: Any) -> None:
        self.options = options
        self.policy = ScanPolicy(frozenset(options.checks), tuple(options.outbound_tools),
                                 THRESHOLDS[options.sensitivity], frozenset(options.allowlist))

    async def run(self, ctx: Context) -> Decision | None:
        findings: list[Finding] = []
        for call in answer_calls(ctx.response):
            findings = scan_call(call, self.policy)
            if findings:
                return blocked(findings)
        if self.options.scan_results:
            for index, text in tool_results(ctx.body):
                findings = scan_result(index, text, self.policy)
                if findings:
                    return blocked(findings)
        return self._unavailable(ctx)

    def _unavailable(self, ctx: Context) -> Decision | None:
        missing = self.policy.unavailable()
        if not missing or not (answer_calls(ctx.response) or tool_results(ctx.body)):
            return None
        return Decision(Action.FLAG, "not checked, detector not available in this version: "
                                     + ", ".join(missing),
                        tuple(Finding("detector_unavailable", explanation=m) for m in missing))

    def check_call(self, request: ToolRequest, call: ToolCall) -> Decision | None:
        findings = scan_call(call, self.policy)
        return blocked(findings) if findings else None
