"""`GET /admin/metrics` (from the audit trail) and `GET /metrics` (Prometheus)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tappass.audit.stats import parse_window, percentile, window_stats
from tappass.storage.memory import MemoryStore
from tests.conftest import ADMIN_HEADERS, Gateway, gateway_with

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def event(n: int, *, agent: str = "bot", pipeline: str = "starter", status: str = "allowed",
          minutes_ago: float = 1.0, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    ts = (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
    return {"id": f"ae_{n}", "timestamp": ts, "agent": agent, "status": status,
            "blocked": status == "blocked", "cost_usd": None, "pipeline": pipeline,
            "steps": steps if steps is not None else [
                {"step": "detect_pii", "verdict": "allow", "duration_ms": float(n)}],
            "latency_ms": {"total": 10.0 + n, "upstream": 10.0, "gateway": float(n)}}


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 95, 99)] == [50.0, 95.0, 99.0]
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) is None


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("1h", 3600), ("7d", 604800)])
def test_windows(text: str, seconds: int) -> None:
    assert parse_window(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "h", "0h", "1w", "-1h", "32d", "1.5h"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(ValueError):
        parse_window(text)


async def test_window_stats_per_step_agent_and_preset_over_the_window_only() -> None:
    store = MemoryStore()
    await store.open()
    events = [event(n) for n in range(1, 101)]
    events += [event(200, agent="other", pipeline="regulated", status="blocked",
                     steps=[{"step": "detect_pii", "verdict": "block", "duration_ms": 500.0},
                            {"step": "detect_pii", "verdict": "skipped", "duration_ms": 0.0}]),
               event(201, status="open"),                  # a stream still running
               event(202, minutes_ago=120)]                # outside the window
    await store.append_audit(events)
    stats = (await window_stats(store, timedelta(hours=1), now=NOW)).as_dict("1h")
    assert stats["requests"] == 101 and stats["by_status"] == {"allowed": 100, "blocked": 1}
    (pii,) = stats["steps"]
    assert (pii["step"], pii["count"]) == ("detect_pii", 102)
    assert (pii["p50_ms"], pii["p95_ms"], pii["p99_ms"], pii["max_ms"]) == (51.0, 96.0,
                                                                            100.0, 500.0)
    assert pii["verdicts"] == {"allow": 100, "block": 1, "skipped": 1}
    assert stats["agents"]["other"]["by_status"] == {"blocked": 1}
    assert stats["presets"]["starter"]["requests"] == 100
    assert stats["presets"]["starter"]["gateway_latency"]["p50_ms"] == 50.0
    only_other = await window_stats(store, timedelta(hours=1), agent="other", now=NOW)
    assert only_other.as_dict("1h")["requests"] == 1


async def test_admin_metrics_reports_real_requests_per_step(gateway: Gateway) -> None:
    key = await gateway.add_agent("bot", preset="starter")
    for _ in range(3):
        assert (await gateway.chat(key)).status_code == 200
    response = await gateway.client.get("/admin/metrics", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["window"] == "1h" and body["requests"] == 3
    assert body["agents"]["bot"]["requests"] == 3 and body["presets"]["starter"]["requests"] == 3
    ran = [step for step in body["steps"] if set(step["verdicts"]) - {"unavailable", "skipped"}]
    assert ran, "no per-step figures"
    for step in body["steps"]:
        assert step["count"] == sum(step["verdicts"].values()) == 3
    for step in ran:
        assert 0 <= step["p50_ms"] <= step["p95_ms"] <= step["p99_ms"] <= step["max_ms"]
    not_run = [step for step in body["steps"] if step not in ran]
    assert all(step["p50_ms"] is None for step in not_run)  # counted, no duration


async def test_admin_metrics_needs_the_admin_key_and_names_a_bad_window(
        gateway: Gateway) -> None:
    assert (await gateway.client.get("/admin/metrics")).status_code == 401
    response = await gateway.client.get("/admin/metrics", headers=ADMIN_HEADERS,
                                        params={"window": "forever"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "window"
    response = await gateway.client.get("/admin/metrics", headers=ADMIN_HEADERS,
                                        params={"step": "x"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "step"


async def test_prometheus_metrics_count_requests_and_step_durations(gateway: Gateway) -> None:
    key = await gateway.add_agent("bot", preset="starter")
    for _ in range(2):
        await gateway.chat(key)
    assert (await gateway.client.get("/metrics")).status_code == 401
    response = await gateway.client.get("/metrics", headers=ADMIN_HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'tappass_requests_total{agent="bot",preset="starter",status="allowed"} 2.0' in text
    assert "# TYPE tappass_step_duration_seconds histogram" in text
    counts = re.findall(r'tappass_step_duration_seconds_count\{step="[a-z_]+",'
                        r'verdict="allow"\} ([0-9.]+)', text)
    assert counts and {float(c) for c in counts} == {2.0}
    assert 'verdict="unavailable"' not in text  # steps that did not run: no durations
    assert 'tappass_gateway_overhead_seconds_count{preset="starter"} 2.0' in text


async def test_prometheus_metrics_can_be_open_by_setting() -> None:
    async for gateway in gateway_with(metrics_auth="none"):
        response = await gateway.client.get("/metrics")
        assert response.status_code == 200
        assert "# TYPE tappass_requests_total counter" in response.text


@pytest.mark.parametrize("multiprocess", [False, True])
def test_histograms_count_each_duration_in_its_bucket_once_per_event(
        multiprocess: bool, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tappass.prometheus import MULTIPROC_ENV, GatewayMetrics
    if multiprocess:
        monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    else:
        monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    metrics = GatewayMetrics()
    steps = [{"step": "s", "verdict": "allow", "duration_ms": ms}
             for ms in (0.05, 0.0501, 0.0, 3000.0)]  # on a bound (le), just above, 0, +Inf
    metrics.observe([event(1, steps=steps), event(2, status="open"), event(3, steps=[])])
    metrics.observe([event(4, steps=steps[:1])])
    text = metrics.exposition().decode()
    buckets = dict(re.findall(r'tappass_step_duration_seconds_bucket\{le="([^"]+)",step="s",'
                              r'verdict="allow"\} ([0-9.]+)', text))
    assert (buckets["5e-05"], buckets["0.0001"], buckets["2.5"], buckets["+Inf"]) == \
        ("3.0", "4.0", "4.0", "5.0")
    total = re.search(r'tappass_step_duration_seconds_sum\{step="s",verdict="allow"\} (\S+)',
                      text)
    assert total and float(total.group(1)) == pytest.approx(3.0001501)
    assert 'tappass_requests_total{agent="bot",preset="starter",status="allowed"} 3.0' in text
    assert 'status="open"' not in text
    assert 'tappass_gateway_overhead_seconds_count{preset="starter"} 3.0' in text
