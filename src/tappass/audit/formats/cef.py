"""ArcSight Common Event Format (CEF:0), one line per audit event.

`CEF:0|TapPass|TapPass Gateway|<version>|<class id>|<name>|<severity>|<extension>`

Escaping follows the CEF specification: in header fields `\\` and `|` are escaped with a
backslash; in extension values `\\` and `=` are escaped, and a line break becomes `\\n`
(or `\\r`), so an event is always one line. Header fields never carry line breaks: they are
replaced by spaces. Extension keys are fixed ASCII names.

Severity (0-10): 8 a block, 6 would have blocked (observe mode), 5 another action (a
transform, an approval), 4 a detection, 3 a failed request, 1 otherwise.

The event class id is `tappass:<status>`; the extension carries the event id in
`externalId` (stable: receivers de-duplicate on it), the agent in `suser`, the outcome in
`act` / `outcome`, the step that blocked in `cs1`, the pipeline in `cs2`, the model in
`cs3`, finding types in `cs4`, the session in `cs5`, the agent id in `cs6`, and the event
time in `rt` (milliseconds since the epoch).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tappass._version import __version__
from tappass.audit.formats.level import finding_types, level

VENDOR = "TapPass"
PRODUCT = "TapPass Gateway"

_NAMES = {"allowed": "Request allowed", "blocked": "Request blocked",
          "failed": "Request failed", "open": "Stream open",
          "interrupted": "Stream interrupted", "shutdown": "Request refused at shutdown"}
_CUSTOM = (("cs1", "blockedBy", "blocked_by"), ("cs2", "pipeline", "pipeline"),
           ("cs3", "model", "model"), ("cs5", "sessionId", "session_id"),
           ("cs6", "agentId", "agent_id"))


def escape_header(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def escape_extension(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def severity(event: Mapping[str, Any]) -> int:
    reached = level(event)
    if reached == "block":
        return 8
    if event.get("would_block"):
        return 6
    if reached == "action":
        return 5
    if reached == "detection":
        return 4
    return 3 if event.get("status") == "failed" else 1


def epoch_ms(timestamp: Any) -> int | None:
    if not isinstance(timestamp, str):
        return None
    try:
        return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def extension(event: Mapping[str, Any]) -> dict[str, Any]:
    """The extension as ordered key -> value, before escaping; None values are left out."""
    status = event.get("status")
    pairs: dict[str, Any] = {
        "rt": epoch_ms(event.get("timestamp")), "externalId": event.get("id"),
        "suser": event.get("agent"), "act": "block" if event.get("blocked") else "allow",
        "outcome": status, "reason": event.get("reason"), "cat": level(event)}
    for key, label, field in _CUSTOM:
        value = event.get(field)
        if value is not None:
            pairs[key], pairs[key + "Label"] = value, label
    types = finding_types(event)
    if types:
        pairs["cs4"], pairs["cs4Label"] = ",".join(types), "findingTypes"
    return {key: value for key, value in pairs.items() if value is not None}


def render(event: Mapping[str, Any]) -> str:
    status = str(event.get("status") or "unknown")
    header = ["CEF:0", escape_header(VENDOR), escape_header(PRODUCT),
              escape_header(__version__), escape_header(f"tappass:{status}"),
              escape_header(_NAMES.get(status, f"Request {status}")), str(severity(event))]
    ext = " ".join(f"{key}={escape_extension(value)}"
                   for key, value in extension(event).items())
    return "|".join(header) + "|" + ext
