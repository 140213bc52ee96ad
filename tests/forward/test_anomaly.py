"""Anomaly alerts against an agent's own baseline, with a test clock."""

from __future__ import annotations

from typing import Any

from tappass.forward.anomaly import AnomalyDetector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ev(agent: str = "bot", blocked: bool = False, n: int = 0) -> dict[str, Any]:
    return {"id": f"ae_{n}", "agent": agent, "agent_id": "ag_1", "blocked": blocked,
            "timestamp": "2026-12-01T00:00:00Z"}


def steady(detector: AnomalyDetector, clock: Clock, minutes: int, per_minute: int,
           blocked_every: int = 0) -> list[dict[str, Any]]:
    alerts = []
    for _ in range(minutes):
        for i in range(per_minute):
            alerts += detector.observe(ev(blocked=bool(blocked_every) and i % blocked_every == 0))
        clock.now += 60
    return alerts


def test_steady_traffic_raises_nothing() -> None:
    clock = Clock()
    detector = AnomalyDetector(clock=clock)
    assert steady(detector, clock, 20, 10, blocked_every=10) == []


def test_a_burst_far_above_the_baseline_raises_one_rate_alert() -> None:
    clock = Clock()
    detector = AnomalyDetector(clock=clock)
    steady(detector, clock, 10, 5)
    alerts = [a for n in range(60) for a in detector.observe(ev(n=n))]
    assert [a["anomaly"] for a in alerts] == ["request_rate"]   # then quiet (cooldown)
    assert alerts[0]["requests_this_minute"] == 30 and alerts[0]["baseline_per_minute"] == 5.0
    assert alerts[0]["type"] == "anomaly" and alerts[0]["id"] == "al_ae_29_request_rate"


def test_a_busy_agent_at_its_usual_rate_is_not_an_anomaly() -> None:
    clock = Clock()
    detector = AnomalyDetector(clock=clock)
    steady(detector, clock, 10, 100)
    assert [a for _ in range(100) for a in detector.observe(ev())] == []


def test_blocks_far_above_the_usual_block_rate_raise_a_block_alert() -> None:
    clock = Clock()
    detector = AnomalyDetector(clock=clock)
    steady(detector, clock, 10, 20, blocked_every=20)   # 5 % blocked
    alerts = [a for i in range(20) for a in detector.observe(ev(blocked=i % 2 == 0))]
    assert [a["anomaly"] for a in alerts] == ["block_rate"]
    assert alerts[0]["blocks_this_minute"] == 10 and alerts[0]["baseline_block_rate"] == 0.05


def test_a_new_agent_has_no_baseline_yet() -> None:
    detector = AnomalyDetector(clock=Clock())
    assert [a for _ in range(200) for a in detector.observe(ev(blocked=True))] == []


def test_agents_are_judged_against_their_own_baseline() -> None:
    clock = Clock()
    detector = AnomalyDetector(clock=clock)
    for _ in range(10):
        for _ in range(100):
            detector.observe(ev("busy"))
        for _ in range(2):
            detector.observe(ev("quiet"))
        clock.now += 60
    busy = [a for _ in range(40) for a in detector.observe(ev("busy"))]
    quiet = [a for _ in range(40) for a in detector.observe(ev("quiet"))]
    assert busy == [] and [a["agent"] for a in quiet] == ["quiet"]
