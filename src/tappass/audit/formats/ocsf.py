"""OCSF 1.8.0 events, one JSON object per line.

Which class:

- **Detection Finding** (class 2004, category Findings) when something was found or done:
  a block, a transform, an approval, a flag or an observe-mode would-block (level
  `detection` or higher, see `tappass.audit.formats.level`). `finding_info.uid` is the
  audit event id, `finding_info.analytic` the step that decided, `finding_info.types` the
  finding types; `is_alert` is true for blocks.
- **API Activity** (class 6003, category Application, activity Create) for every other
  request: `actor.user` is the agent, `api.operation` the call, `src_endpoint` the agent
  and `dst_endpoint` the provider; `status_id` 1 Success or 2 Failure.

Both carry `metadata.uid` = the audit event id (stable, for de-duplication),
`metadata.product` = TapPass, `metadata.version` = "1.8.0", `time` in epoch milliseconds,
`type_uid` = class_uid * 100 + activity_id, and gateway details that have no OCSF
attribute (pipeline, mode, http status, latency) under `unmapped`.

Severity (`severity_id`): 4 High for a block, 3 Medium for a would-block or another
action, 2 Low for a detection or a failed request, 1 Informational otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tappass._version import __version__
from tappass.audit.formats.cef import epoch_ms
from tappass.audit.formats.level import finding_types, level

SCHEMA_VERSION = "1.8.0"
DETECTION_FINDING = 2004
API_ACTIVITY = 6003
_CREATE = 1
_SEVERITY_NAMES = {1: "Informational", 2: "Low", 3: "Medium", 4: "High"}


def severity_id(event: Mapping[str, Any]) -> int:
    reached = level(event)
    if reached == "block":
        return 4
    if reached == "action" or event.get("would_block"):
        return 3
    if reached == "detection" or event.get("status") == "failed":
        return 2
    return 1


def _metadata(event: Mapping[str, Any]) -> dict[str, Any]:
    return {"version": SCHEMA_VERSION, "uid": event.get("id"), "log_name": "audit",
            "original_time": event.get("timestamp"),
            "product": {"name": "TapPass Gateway", "vendor_name": "TapPass",
                        "version": __version__}}


def _base(event: Mapping[str, Any], class_uid: int, class_name: str,
          activity_name: str) -> dict[str, Any]:
    severity = severity_id(event)
    return {"class_uid": class_uid, "class_name": class_name,
            "category_uid": class_uid // 1000,
            "category_name": "Findings" if class_uid // 1000 == 2 else "Application Activity",
            "activity_id": _CREATE, "activity_name": activity_name,
            "type_uid": class_uid * 100 + _CREATE,
            "time": epoch_ms(event.get("timestamp")) or 0,
            "severity_id": severity, "severity": _SEVERITY_NAMES[severity],
            "metadata": _metadata(event), "message": _message(event),
            "unmapped": _unmapped(event)}


def _message(event: Mapping[str, Any]) -> str:
    status = event.get("status") or "unknown"
    agent = event.get("agent") or "unknown agent"
    reason = event.get("reason")
    return f"{agent}: request {status}" + (f" ({reason})" if reason else "")


def _unmapped(event: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("status", "blocked_by", "pipeline", "mode", "http_status", "session_id",
            "model", "provider", "latency_ms", "cost_usd")
    return {key: event[key] for key in keys if event.get(key) is not None}


def _actor(event: Mapping[str, Any]) -> dict[str, Any]:
    user = {key: value for key, value in (("name", event.get("agent")),
                                          ("uid", event.get("agent_id"))) if value}
    return {"user": {**(user or {"name": "unknown"}), "type_id": 4, "type": "Service"}}


def detection_finding(event: Mapping[str, Any]) -> dict[str, Any]:
    out = _base(event, DETECTION_FINDING, "Detection Finding", "Create")
    decided_by = event.get("blocked_by") or next(
        (step.get("step") for step in event.get("steps") or ()
         if step.get("verdict") not in ("allow", "skipped")), None)
    info: dict[str, Any] = {"uid": event.get("id"), "title": _message(event)}
    if decided_by:
        info["analytic"] = {"name": decided_by, "type_id": 1, "type": "Rule"}
    types = finding_types(event)
    if types:
        info["types"] = types
    out.update({"finding_info": info, "is_alert": bool(event.get("blocked")),
                "status_id": 1, "status": "New"})
    return out


def api_activity(event: Mapping[str, Any]) -> dict[str, Any]:
    out = _base(event, API_ACTIVITY, "API Activity", "Create")
    failed = event.get("status") == "failed"
    out.update({"actor": _actor(event),
                "api": {"operation": "chat.completions",
                        "service": {"name": "TapPass Gateway"}},
                "src_endpoint": {"name": event.get("agent") or "unknown"},
                "status_id": 2 if failed else 1, "status": "Failure" if failed else "Success"})
    if event.get("provider"):
        out["dst_endpoint"] = {"name": event["provider"]}
    return out


def to_ocsf(event: Mapping[str, Any]) -> dict[str, Any]:
    if level(event) == "all":
        return api_activity(event)
    return detection_finding(event)


def render(event: Mapping[str, Any]) -> str:
    return orjson.dumps(to_ocsf(event)).decode()
