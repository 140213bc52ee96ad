"""Faults answered honestly: upstream timeouts and bad answers, gateway faults without
internals, streams audited before their first byte and completed with their real cause."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import orjson
import pytest

from tappass.errors import StorageError
from tappass.pipeline.steps.cost_tracking import CostTracking
from tests.conftest import Gateway, gateway_with
from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream


@pytest.fixture
async def faulty(upstream: FakeUpstream) -> AsyncIterator[Gateway]:
    """The fake upstream behind short timeouts, so every fault shows within a second."""
    async for gw in gateway_with(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY,
                                 upstream_timeout=0.6, upstream_first_byte_timeout=0.5,
                                 upstream_idle_timeout=0.5):
        yield gw


def sse_events(text: str) -> list[Any]:
    return [e.removeprefix("data: ") for e in text.split("\n\n") if e]


def last_error(text: str) -> dict[str, Any]:
    events = sse_events(text)
    assert events[-1] != "[DONE]", "a failed stream must not end with [DONE]"
    return dict(orjson.loads(events[-1])["error"])


# -- upstream faults ---------------------------------------------------------------------

async def test_a_dripping_upstream_is_cut_by_the_whole_call_timeout(faulty: Gateway) -> None:
    # one byte every 0.1 s: no single read is slow, the answer would take about 40 s
    key = await faulty.add_agent()
    response = await faulty.chat(key, model="drip")
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "upstream_timeout" and error["retryable"] is True
    assert (await faulty.event(error["audit_id"]))["http_status"] == 504


async def test_a_stalled_stream_ends_with_a_timeout_event(faulty: Gateway) -> None:
    key = await faulty.add_agent()
    response = await faulty.chat(key, model="stall-stream", stream=True)
    assert response.status_code == 200
    error = last_error(response.text)
    assert error["code"] == "upstream_timeout"
    event = await faulty.event(error["audit_id"])
    assert (event["status"], event["http_status"]) == ("failed", 504)


@pytest.mark.parametrize("model, usage", [
    ("shape-list", None),
    ("shape-string", None),
    ("shape-usage", {"prompt_tokens": 10}),
])
async def test_an_answer_of_the_wrong_shape_is_502_keeping_readable_usage(
        faulty: Gateway, model: str, usage: dict[str, int] | None) -> None:
    key = await faulty.add_agent()
    response = await faulty.chat(key, model=model)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_invalid" and error["provider"] == "openai"
    assert "Traceback" not in response.text and "Error:" not in response.text
    assert (await faulty.event(error["audit_id"]))["usage"] == usage


async def test_an_upstream_429_passes_its_retry_after_on(faulty: Gateway) -> None:
    key = await faulty.add_agent()
    response = await faulty.chat(key, model="rate-limited-retry")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    error = response.json()["error"]
    assert (error["code"], error["provider"], error["retry_after"]) == (
        "upstream_rate_limited", "openai", 7.0)
    assert "None" not in error["message"]


async def test_a_content_part_whose_text_is_not_a_string_is_a_400(faulty: Gateway) -> None:
    key = await faulty.add_agent()
    response = await faulty.client.post(
        "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
        json={"model": "tappass/echo", "messages": [
            {"role": "user", "content": [{"type": "text", "text": {"nested": 1}}]}]})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[0].content[0].text"


# -- no internals for agents -------------------------------------------------------------

async def test_a_failing_step_shows_no_exception_text(
        faulty: Gateway, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    async def broken(self: CostTracking, ctx: Any) -> None:
        raise OSError("[Errno 28] No space left on device: '/var/lib/tappass/prices.db'")

    monkeypatch.setattr(CostTracking, "run", broken)
    key = await faulty.add_agent()
    response = await faulty.chat(key)
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["code"], error["step"], error["retryable"]) == (
        "step_failed", "cost_tracking", False)
    assert "/var/lib" not in response.text and "OSError" not in response.text
    assert error["audit_id"] in error["message"]
    event = await faulty.event(error["audit_id"])
    assert "No space left on device" in event["error"]  # the admin sees the cause
    assert f"request {error['audit_id']} failed: step_failed" in caplog.text  # and the log


async def test_a_step_failing_mid_stream_ends_with_an_error_event(
        faulty: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: CostTracking, ctx: Any) -> None:
        raise RuntimeError("pricing table at /srv/internal/prices.json is corrupt")

    monkeypatch.setattr(CostTracking, "run", broken)
    key = await faulty.add_agent()
    response = await faulty.chat(key, model="gpt-4o", stream=True)
    error = last_error(response.text)
    assert (error["code"], error["step"]) == ("step_failed", "cost_tracking")
    assert "/srv/internal" not in response.text
    event = await faulty.event(error["audit_id"])
    assert event["status"] == "failed" and "prices.json" in event["error"]


# -- streams: audited before the first byte, completed with the real cause --------------

async def test_a_stream_is_not_started_when_its_audit_event_cannot_be_written(
        faulty: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await faulty.add_agent()

    async def full_disk(events: list[dict[str, Any]]) -> None:
        raise StorageError("SQLite append audit events failed on /home/x/tappass.db: disk full")

    monkeypatch.setattr(faulty.services.store, "append_audit", full_disk)
    response = await faulty.chat(key, model="gpt-4o", stream=True)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert (error["code"], error["retryable"]) == ("audit_unavailable", True)
    assert "upstream says" not in response.text and "tappass.db" not in response.text


async def test_a_stream_whose_completion_cannot_be_written_never_ends_with_done(
        faulty: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await faulty.add_agent()

    async def full_disk(events: list[dict[str, Any]]) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(faulty.services.store, "update_audit", full_disk)
    response = await faulty.chat(key, model="gpt-4o", stream=True)
    error = last_error(response.text)
    assert error["code"] == "audit_unavailable"
    assert (await faulty.event(error["audit_id"]))["status"] == "open"


async def test_a_completed_stream_keeps_its_id_and_start_time(faulty: Gateway) -> None:
    key = await faulty.add_agent()
    response = await faulty.chat(key, model="gpt-4o", stream=True)
    assert sse_events(response.text)[-1] == "[DONE]"
    audit_id = response.headers["x-tappass-audit-id"]
    listed = (await faulty.client.get("/v1/audit?limit=50", headers={
        "Authorization": "Bearer tp_admin_unit-test-key"})).json()["data"]
    assert [e["status"] for e in listed if e["id"] == audit_id] == ["allowed"]
    event = await faulty.event(audit_id)
    assert event["usage"]["total_tokens"] == 15 and event["cost_usd"] is not None


async def test_a_broken_chunk_is_an_error_the_openai_sdk_raises(faulty: Gateway) -> None:
    key = await faulty.add_agent()
    transport = httpx.ASGITransport(app=faulty.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw/v1") as http:
        sdk = openai.AsyncOpenAI(base_url="http://gw/v1", api_key=key, http_client=http,
                                 max_retries=0)
        stream = await sdk.chat.completions.create(
            model="broken-chunk", stream=True, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.APIError) as info:
            async for _ in stream:
                pass
    assert "stream chunk that is not JSON" in info.value.message
    events = await faulty.services.store.query_audit(_query())
    assert events[0]["status"] == "failed" and events[0]["http_status"] == 502


def _query() -> Any:
    from tappass.storage.base import AuditQuery
    return AuditQuery(limit=1)
