"""What each audit event puts in the outbox."""

from __future__ import annotations

from typing import Any

import orjson

from tappass.forward.anomaly import AnomalyDetector
from tappass.forward.router import Router
from tappass.forward.siem_config import SiemConfig
from tappass.forward.webhooks import AlertWebhook


def siem(filter_: str = "all", enabled: bool = True) -> SiemConfig:
    return SiemConfig(enabled, "webhook", "http://x", "json", filter_)


def hook(hook_id: str, *events: str) -> AlertWebhook:
    return AlertWebhook(hook_id, "http://h", events, "2026-12-01T00:00:00Z", "s", None)


def ev(n: int, **changes: Any) -> dict[str, Any]:
    return {"id": f"ae_{n}", "agent": "bot", "status": "allowed", "blocked": False,
            "pipeline": "standard", "mode": "enforce", "steps": [], **changes}


BLOCK = {"status": "blocked", "blocked": True, "blocked_by": "detect_pii"}


def test_siem_rows_follow_the_severity_filter() -> None:
    route = Router(siem("block"), [], AnomalyDetector())
    rows = route([ev(1), ev(2, **BLOCK)])
    assert [(r.sink, r.event_id, r.payload) for r in rows] == [("siem", "ae_2", None)]
    assert [r.event_id for r in Router(siem("all"), [], AnomalyDetector())(
        [ev(1), ev(2)])] == ["ae_1", "ae_2"]


def test_disabled_or_absent_siem_routes_nothing() -> None:
    assert not Router(siem(enabled=False), [], AnomalyDetector()).active
    assert not Router(None, [], AnomalyDetector()).active
    assert Router(None, [], AnomalyDetector())([ev(1, **BLOCK)]) == []


def test_open_streams_wait_for_their_outcome() -> None:
    assert Router(siem(), [], AnomalyDetector())([ev(1, status="open")]) == []


def test_violations_go_to_the_webhooks_that_asked_for_them() -> None:
    route = Router(None, [hook("a", "violation"), hook("b", "anomaly")], AnomalyDetector())
    rows = route([ev(1), ev(2, **BLOCK)])
    assert [(r.sink, r.event_id) for r in rows] == [("webhook:a", "ae_2")]
    alert = orjson.loads(rows[0].payload or "")
    assert (alert["type"], alert["id"], alert["blocked_by"]) == (
        "violation", "al_ae_2_violation", "detect_pii")


def test_refusals_outside_the_pipeline_and_observe_mode_are_not_violations() -> None:
    route = Router(None, [hook("a", "violation")], AnomalyDetector())
    assert route([ev(1, pipeline=None, **BLOCK), ev(2, mode="observe", **BLOCK)]) == []


def test_notify_is_called_when_rows_were_routed() -> None:
    calls: list[int] = []
    route = Router(siem("block"), [], AnomalyDetector(), lambda: calls.append(1))
    route([ev(1)])
    route([ev(2, **BLOCK)])
    assert calls == [1]


def escalated(n: int, kind: str, **changes: Any) -> dict[str, Any]:
    step = {"step": "session_escalation", "phase": "after", "verdict": "block",
            "findings": [{"type": kind, "score": 0.9}]}
    return ev(n, steps=[step], **{**BLOCK, "blocked_by": "session_escalation", **changes})


def test_the_request_that_escalates_a_session_alerts_once() -> None:
    route = Router(None, [hook("e", "escalation"), hook("v", "violation")], AnomalyDetector())
    rows = route([escalated(1, "risk_threshold_crossed"),
                  escalated(2, "session_escalation"),       # still escalated: no new alert
                  escalated(3, "risk_threshold_crossed", mode="observe",
                            status="allowed", blocked=False)])
    alerts = [(r.sink, orjson.loads(r.payload or "")["type"], r.event_id) for r in rows]
    assert alerts == [("webhook:v", "violation", "ae_1"), ("webhook:e", "escalation", "ae_1"),
                      ("webhook:v", "violation", "ae_2"), ("webhook:e", "escalation", "ae_3")]
