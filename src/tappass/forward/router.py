"""Which outbox rows an audit batch produces: called by the store inside its transaction.

- `siem`: every event at or above the SIEM `severity_filter`, when SIEM export is enabled.
- `webhook:<id>`: a `violation` alert for each event blocked by an enforced pipeline step,
  an `escalation` alert for the request that took a session over its risk threshold
  (`session_escalation`, once per session, observe mode included), and `anomaly` alerts
  from the detector, for each webhook that subscribed to that type.

A stream's event is routed when it completes, never while it is `open`. Routing reads
only the in-memory configuration: it costs a few dictionary lookups per event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from tappass.audit.formats.level import reaches
from tappass.forward.anomaly import AnomalyDetector
from tappass.forward.outbox import SIEM_SINK, OutboxRow
from tappass.forward.siem_config import SiemConfig
from tappass.forward.webhooks import AlertWebhook

_OPEN = "open"


def is_violation(event: Mapping[str, Any]) -> bool:
    """Blocked by a pipeline step in enforce mode (not a refused key or a disabled agent)."""
    return bool(event.get("blocked")) and event.get("pipeline") is not None and \
        event.get("mode") != "observe"


def is_escalation(event: Mapping[str, Any]) -> bool:
    """The request whose risk took its session over the threshold."""
    return any(step.get("step") == "session_escalation" and any(
        f.get("type") == "risk_threshold_crossed" for f in step.get("findings") or ())
        for step in event.get("steps") or () if isinstance(step, Mapping))


def escalation_alert(event: Mapping[str, Any]) -> dict[str, Any]:
    return {**violation_alert(event), "id": f"al_{event.get('id')}_escalation",
            "type": "escalation"}


def violation_alert(event: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": f"al_{event.get('id')}_violation", "type": "violation",
            "agent": event.get("agent"), "agent_id": event.get("agent_id"),
            "audit_id": event.get("id"), "created_at": event.get("timestamp"),
            "blocked_by": event.get("blocked_by"), "reason": event.get("reason"),
            "pipeline": event.get("pipeline"), "model": event.get("model"),
            "session_id": event.get("session_id"), "http_status": event.get("http_status")}


class Router:
    def __init__(self, siem: SiemConfig | None, hooks: Sequence[AlertWebhook],
                 anomaly: AnomalyDetector, notify: Callable[[], None] | None = None) -> None:
        self._siem_filter = siem.severity_filter if siem is not None and siem.enabled else None
        self._hooks = {kind: [h.sink for h in hooks if kind in h.events]
                       for kind in ("violation", "escalation", "anomaly")}
        self._anomaly = anomaly
        self._notify = notify

    @property
    def active(self) -> bool:
        return self._siem_filter is not None or any(self._hooks.values())

    def __call__(self, events: Sequence[Mapping[str, Any]]) -> list[OutboxRow]:
        rows: list[OutboxRow] = []
        for event in events:
            if event.get("status") != _OPEN:
                self._route(event, rows)
        if rows and self._notify is not None:
            self._notify()
        return rows

    def _route(self, event: Mapping[str, Any], rows: list[OutboxRow]) -> None:
        event_id = str(event.get("id"))
        if self._siem_filter is not None and reaches(event, self._siem_filter):
            rows.append(OutboxRow(SIEM_SINK, event_id))
        alerts = [violation_alert(event)] if self._hooks["violation"] and \
            is_violation(event) else []
        if self._hooks["escalation"] and is_escalation(event):
            alerts.append(escalation_alert(event))
        if self._hooks["anomaly"]:
            alerts += self._anomaly.observe(event)
        for alert in alerts:
            body = orjson.dumps(alert).decode()
            rows.extend(OutboxRow(sink, event_id, body) for sink in self._hooks[alert["type"]])
