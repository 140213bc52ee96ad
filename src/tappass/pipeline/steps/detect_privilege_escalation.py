"""detect_privilege_escalation (alias detect_escalation): blocks attempts to gain a role,
a mode or a permission: authority claims used to ask for something, "you are now ...",
system-prompt overrides, privileged modes, requests to disable safety, chmod 777 / setuid /
sudoers changes, and cloud IAM escalation.

User and tool text is scanned (tool results are where an indirect attempt hides), and,
placed after the call, the tool-call arguments of the answer. System and developer prompts
are the operator's own words and are not scanned; assistant text (history or answer)
neither. Blocks at the sensitivity's score (`low` 0.9, `medium` 0.75, `high` 0.5): a bare
"I am the admin" or `sudo apt install` scores 0.45 and is reported only at `high`.
"""

from __future__ import annotations

from typing import Any

from tappass.detect.scan import Detector
from tappass.detect.threats.escalation import detect_privilege_escalation
from tappass.pipeline.options import ThreatOptions
from tappass.pipeline.steps._threat_detection import ThreatStep

OPERATOR_ROLES = frozenset({"system", "developer", "assistant"})


class DetectPrivilegeEscalation(ThreatStep):
    id = "detect_privilege_escalation"
    what = "privilege escalation"

    Options = ThreatOptions

    def detector(self, options: Any) -> tuple[str, Detector]:
        return "privilege_escalation", detect_privilege_escalation

    def floor(self, role: str) -> float | None:
        return None if role in OPERATOR_ROLES else self.threshold
