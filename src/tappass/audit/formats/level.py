"""How serious an audit event is, for SIEM filters and severities.

Levels nest: every `block` is an `action`, every `action` a `detection`, and every event is
in `all`. `severity_filter` in the SIEM configuration forwards events at or above a level.

- block: the request was refused (an enforced block, or a gateway refusal such as a
  disabled agent or a budget).
- action: the gateway changed or held something (a step transformed the request or answer,
  or asked for approval).
- detection: something was found: a step flagged, found something, or would have blocked
  in observe mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LEVELS = ("all", "detection", "action", "block")
_ACTION_VERDICTS = frozenset({"transform", "block", "require_approval"})
_DETECTION_VERDICTS = frozenset({"flag", "would_block"})


def level(event: Mapping[str, Any]) -> str:
    """The highest level the event reaches: "block", "action", "detection" or "all"."""
    if event.get("blocked"):
        return "block"
    steps = event.get("steps") or ()
    if any(step.get("verdict") in _ACTION_VERDICTS for step in steps):
        return "action"
    if event.get("would_block") or any(
            step.get("verdict") in _DETECTION_VERDICTS or step.get("findings") for step in steps):
        return "detection"
    return "all"


def reaches(event: Mapping[str, Any], threshold: str) -> bool:
    """True when the event is at or above the filter level `threshold`."""
    return LEVELS.index(level(event)) >= LEVELS.index(threshold)


def finding_types(event: Mapping[str, Any]) -> list[str]:
    """Distinct finding types over all steps, in first-seen order (types only, never text)."""
    seen: dict[str, None] = {}
    for step in event.get("steps") or ():
        for finding in step.get("findings") or ():
            kind = finding.get("type")
            if isinstance(kind, str):
                seen.setdefault(kind, None)
    return list(seen)
