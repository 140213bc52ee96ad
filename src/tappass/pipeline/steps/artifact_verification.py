"""artifact_verification: checks what the answer asks someone to run or open.

After the call, the answer's code blocks and inline code, and its tool-call arguments, are
scanned for dangerous operations with the code-execution detector (the same findings
detect_code_execution reads) and the shell-bleed detector; its links are checked against
the allowed domains (`allowed_domains`, or when empty the allowed domains of the pipeline's
check_exfiltration step) with the exfiltration detector. Prose outside code is scanned for
code execution only: a sentence with a semicolon is not a command chain. Blocks (or flags)
at the sensitivity's score; before the call there is nothing to verify, and a streamed
answer is verified piece by piece as it passes (see `_threat_detection`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tappass.detect.scan import Detector, Scan
from tappass.detect.threats.code_exec import detect_code_execution
from tappass.detect.threats.exfiltration import exfiltration_detector
from tappass.detect.threats.shell import detect_shell_bleed
from tappass.pipeline.options import ArtifactOptions
from tappass.pipeline.step import Decision, Finding
from tappass.pipeline.steps._threat_detection import (
    ThreatStep,
    located,
)

if TYPE_CHECKING:
    from tappass.pipeline.context import Context
    from tappass.pipeline.definition import Pipeline

_CODE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)|`([^`\n]{2,400})`", re.S)


def code_spans(text: str) -> list[tuple[int, str]]:
    """(offset, code) of each fenced block and inline code span in markdown text."""
    if "`" not in text:
        return []
    return [(m.start(1), m.group(1)) if m.group(1) is not None else (m.start(2), m.group(2))
            for m in _CODE.finditer(text)]


def _shifted(finding: Finding, offset: int) -> Finding:
    if finding.start is None or finding.end is None:
        return finding
    return Finding(finding.type, finding.start + offset, finding.end + offset, finding.score,
                   finding.explanation)


def pipeline_domains(pipeline: Pipeline | None) -> list[str]:
    """The allowed domains of the pipeline's check_exfiltration step(s)."""
    if pipeline is None:
        return []
    return [domain for entries in pipeline.phases.values() for entry in entries
            if entry.spec.id == "check_exfiltration" and entry.step is not None
            for domain in entry.step.options.allowed_domains]


class ArtifactVerification(ThreatStep):
    id = "artifact_verification"
    what = "dangerous artifact"

    Options = ArtifactOptions

    def __init__(self, options: ArtifactOptions, services: Any) -> None:
        super().__init__(options, services)
        # one detector per set of allowed domains (pipelines are compiled once)
        self._link_detectors: dict[tuple[str, ...], Detector] = {}

    def detector(self, options: Any) -> tuple[str, Detector]:
        return "code_execution", detect_code_execution

    def floor(self, role: str) -> float | None:
        return self.threshold     # the answer's content is exactly what is verified

    async def run(self, ctx: Context) -> Decision | None:
        if ctx.response is None and ctx.chunks is None:
            return None      # before the call there is nothing to verify
        return await super().run(ctx)

    def answer_hits(self, ctx: Context, scan: Scan, roles: list[str]) -> list[Finding]:
        hits = self.scanned(scan, roles, "answer")
        for index, (role, text) in enumerate(zip(roles, scan.texts, strict=True)):
            where = f"answer {index} ({role})"
            pieces = [(0, text)] if role == "tool_call" else code_spans(text)
            hits.extend(located(_shifted(f, offset), where) for offset, code in pieces
                        for f in detect_shell_bleed(code)
                        if f.score >= self.threshold and not self.exempt(code, f))
        name, links = self._links(ctx)
        per_text = scan.findings(name, links)
        hits.extend(located(f, f"answer {index} (links)")
                    for index, (text, found) in enumerate(zip(scan.texts, per_text, strict=True))
                    for f in found if f.score >= self.threshold and not self.exempt(text, f))
        return hits

    def _links(self, ctx: Context) -> tuple[str, Detector]:
        """The exfiltration detector for the allowed domains, named as check_exfiltration
        names it so the two steps share one scan of the answer."""
        domains = tuple(sorted(self.options.allowed_domains or pipeline_domains(ctx.pipeline)))
        detector = self._link_detectors.get(domains)
        if detector is None:
            detector = self._link_detectors.setdefault(domains, exfiltration_detector(domains))
        return f"exfiltration:{','.join(domains)}", detector
