"""The parts of the published OCSF 1.8.0 schema that TapPass events use, for validation.

Transcribed from github.com/ocsf/ocsf-schema (events/base_event.json,
events/findings/finding.json, events/findings/detection_finding.json,
events/application/api_activity.json, objects/metadata.json, objects/finding_info.json,
objects/api.json, objects/actor.json, objects/endpoint.json, dictionary.json): the
attribute names each class allows, which are required, the `at_least_one` constraints, the
enums and the `type_uid` rule. `validate()` returns every problem found, [] when valid.
"""

from __future__ import annotations

from typing import Any

BASE_ATTRIBUTES = {
    "activity_id", "activity_name", "category_name", "category_uid", "class_name", "class_uid",
    "count", "duration", "end_time", "enrichments", "message", "metadata", "observables",
    "raw_data", "severity", "severity_id", "start_time", "status", "status_code",
    "status_detail", "status_id", "time", "timezone_offset", "type_name", "type_uid",
    "unmapped"}
BASE_REQUIRED = {"activity_id", "category_uid", "class_uid", "metadata", "severity_id",
                 "time", "type_uid"}
CLASSES: dict[int, dict[str, Any]] = {
    2004: {"category": 2, "activities": {1, 2, 3, 99},
           "status_ids": {0, 1, 2, 3, 4, 5, 6, 99},
           "attributes": {"finding_info", "confidence", "confidence_id", "confidence_score",
                          "device", "evidences", "impact", "impact_id", "impact_score",
                          "is_alert", "malware", "remediation", "resources", "risk_details",
                          "risk_level", "risk_level_id", "risk_score", "vulnerabilities",
                          "comment", "notes", "vendor_attributes", "anomaly_analyses"},
           "required": {"finding_info"}},
    6003: {"category": 6, "activities": {0, 1, 2, 3, 4, 99}, "status_ids": {0, 1, 2, 99},
           "attributes": {"actor", "api", "dst_endpoint", "http_request", "http_response",
                          "resources", "src_endpoint", "ai_model", "message_context", "trace"},
           "required": {"actor", "api", "src_endpoint"}},
}
SEVERITY_IDS = {0, 1, 2, 3, 4, 5, 6, 99}
OBJECT_REQUIRED = {"metadata": {"product", "version"}, "finding_info": {"uid"},
                   "api": {"operation"}, "analytic": {"type_id"}}
AT_LEAST_ONE = {
    "actor": {"process", "user", "iam_role", "invoked_by", "session", "app_name", "app_uid"},
    "endpoint": {"ip", "uid", "name", "hostname", "instance_uid", "interface_uid", "svc_name",
                 "domain"},
    "user": {"account", "name", "uid"},
}
ANALYTIC_TYPE_IDS = {0, 1, 2, 3, 4, 5, 6, 99}


def _require(obj: Any, name: str, keys: set[str], problems: list[str]) -> None:
    if not isinstance(obj, dict):
        problems.append(f"{name}: expected an object")
        return
    problems.extend(f"{name}.{key}: required" for key in sorted(keys - set(obj)))


def _at_least_one(obj: Any, name: str, kind: str, problems: list[str]) -> None:
    if not isinstance(obj, dict) or not AT_LEAST_ONE[kind] & set(obj):
        problems.append(f"{name}: needs at least one of {sorted(AT_LEAST_ONE[kind])}")


def validate(event: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    spec = CLASSES.get(event.get("class_uid", -1))
    if spec is None:
        return [f"class_uid: {event.get('class_uid')!r} is not a class TapPass emits"]
    problems += [f"{key}: required" for key in sorted(
        (BASE_REQUIRED | spec["required"]) - set(event))]
    problems += [f"{key}: not an attribute of class {event['class_uid']}" for key in sorted(
        set(event) - BASE_ATTRIBUTES - spec["attributes"])]
    if event.get("category_uid") != spec["category"]:
        problems.append("category_uid: does not match the class")
    if event.get("activity_id") not in spec["activities"]:
        problems.append("activity_id: not in the class enum")
    if event.get("type_uid") != event["class_uid"] * 100 + event.get("activity_id", -1):
        problems.append("type_uid: must be class_uid * 100 + activity_id")
    if event.get("severity_id") not in SEVERITY_IDS:
        problems.append("severity_id: not in the enum")
    if "status_id" in event and event["status_id"] not in spec["status_ids"]:
        problems.append("status_id: not in the class enum")
    if not isinstance(event.get("time"), int):
        problems.append("time: expected a timestamp_t (integer milliseconds)")
    _require(event.get("metadata"), "metadata", OBJECT_REQUIRED["metadata"], problems)
    if "finding_info" in event:
        info = event["finding_info"]
        _require(info, "finding_info", OBJECT_REQUIRED["finding_info"], problems)
        if isinstance(info, dict) and "analytic" in info:
            _require(info["analytic"], "finding_info.analytic", OBJECT_REQUIRED["analytic"],
                     problems)
            if info["analytic"].get("type_id") not in ANALYTIC_TYPE_IDS:
                problems.append("finding_info.analytic.type_id: not in the enum")
    if "api" in event:
        _require(event["api"], "api", OBJECT_REQUIRED["api"], problems)
    if "actor" in event:
        _at_least_one(event["actor"], "actor", "actor", problems)
        if "user" in event["actor"]:
            _at_least_one(event["actor"]["user"], "actor.user", "user", problems)
    for key in ("src_endpoint", "dst_endpoint"):
        if key in event:
            _at_least_one(event[key], key, "endpoint", problems)
    return problems
