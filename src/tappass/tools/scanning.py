"""Scans of tool-call arguments and tool results, by named checks.

Built-in checks (`arguments.DETECTORS`, `instructions.hidden_instructions`) always exist;
`pii`, `secrets` and `injection` are plugged in by name (`detectors.NAMED`) and reported as
unavailable while their module is not installed. Findings name the argument path and what
was found, never the matched text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from tappass.pipeline.step import Finding
from tappass.tools.arguments import DETECTORS, shell_relevant
from tappass.tools.calls import ToolCall, string_values
from tappass.tools.detectors import finding_type, named_detector
from tappass.tools.email import RECIPIENT_FIELDS, is_email_call
from tappass.tools.instructions import hidden_instructions

NAMED_CHECKS = ("pii", "secrets", "injection")
RESULT_CHECKS = ("secrets", "injection", "hidden_instructions")
THRESHOLDS = {"low": 0.8, "medium": 0.5, "high": 0.3}


@dataclass(frozen=True, slots=True)
class ScanPolicy:
    checks: frozenset[str]
    outbound_tools: tuple[str, ...] = ()
    threshold: float = 0.5
    allowlist: frozenset[str] = frozenset()

    def unavailable(self) -> list[str]:
        """Enabled named checks whose detector is not installed in this version."""
        return [n for n in NAMED_CHECKS if n in self.checks and named_detector(n) is None]

    def outbound(self, call: ToolCall) -> bool:
        name = call.name.lower()
        return is_email_call(call) or any(fnmatchcase(name, p) for p in self.outbound_tools)


def _arguments(call: ToolCall) -> Iterator[tuple[str, str]]:
    if not call.parsed:
        yield "arguments", call.raw_arguments
        return
    yield from string_values(call.arguments)


def _named(check: str, text: str, where: str, policy: ScanPolicy) -> list[Finding]:
    detector = named_detector(check)
    if detector is None:
        return []
    out = []
    for found in detector(text):
        span = text[found.start:found.end] if found.start is not None else None
        if found.score < policy.threshold or (span is not None and span in policy.allowlist):
            continue
        out.append(Finding(finding_type(check), found.start, found.end, found.score,
                           f"{where}: {found.type}"))
    return out


def _builtin(check: str, text: str, where: str) -> list[Finding]:
    detector = hidden_instructions if check == "hidden_instructions" else DETECTORS[check]
    return [Finding(f.type, f.start, f.end, f.score, f"{where}: {f.explanation}")
            for f in detector(text)]


def _value_checks(call: ToolCall, path: str, policy: ScanPolicy) -> Iterable[str]:
    for check in ("path_traversal", "sql_injection", "ssrf", "secrets"):
        if check in policy.checks:
            yield check
    if "shell_metacharacters" in policy.checks and shell_relevant(call.name, path):
        yield "shell_metacharacters"
    top = path.split(".", 1)[0].split("[", 1)[0]
    if "pii" in policy.checks and top not in RECIPIENT_FIELDS and policy.outbound(call):
        yield "pii"


def scan_call(call: ToolCall, policy: ScanPolicy) -> list[Finding]:
    """Findings in the call's arguments; the first check that finds something per value."""
    findings: list[Finding] = []
    for path, text in _arguments(call):
        where = f"tool {call.name!r} argument {path!r}"
        for check in _value_checks(call, path, policy):
            found = (_named(check, text, where, policy) if check in NAMED_CHECKS
                     else _builtin(check, text, where))
            if found:
                findings.extend(found)
                break
    return findings


def scan_result(index: int, text: str, policy: ScanPolicy) -> list[Finding]:
    where = f"tool result messages[{index}]"
    for check in RESULT_CHECKS:
        if check not in policy.checks:
            continue
        found = (_named(check, text, where, policy) if check in NAMED_CHECKS
                 else _builtin(check, text, where))
        if found:
            return found
    return []
