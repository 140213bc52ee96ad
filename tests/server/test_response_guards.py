"""What the OpenAI surface answers and audits on refusals, blocks and /v1/models (issue 20)."""

from __future__ import annotations

from typing import Any

import pytest

from tappass.errors import StorageError
from tappass.server.failures import AUDIT_UNAVAILABLE
from tests.conftest import ADMIN_HEADERS, Gateway, gateway_with


async def last_event(gw: Gateway) -> dict[str, Any]:
    response = await gw.client.get("/v1/audit?limit=1", headers=ADMIN_HEADERS)
    return dict(response.json()["data"][0])


async def audit_fails(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing(events: list[dict[str, Any]]) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(gw.services.store, "append_audit", failing)


AUDIT_DOWN = {"message": AUDIT_UNAVAILABLE, "type": "storage_error", "param": None,
              "code": "audit_unavailable", "retryable": True}


async def test_disabled_agent_refusal_is_audited_in_full(gateway: Gateway) -> None:
    await gateway.add_agent()
    key = await gateway.add_agent("off-bot")
    await gateway.client.patch("/v1/agents/off-bot", headers=ADMIN_HEADERS,
                               json={"enabled": False})
    response = await gateway.chat(key)
    assert response.status_code == 403
    error = response.json()["error"]
    assert response.headers["X-TapPass-Audit-Id"] == error["audit_id"]
    assert error["code"] == "agent_disabled"
    event = await last_event(gateway)
    agent = (await gateway.client.get("/v1/agents/off-bot", headers=ADMIN_HEADERS)).json()
    assert (event["id"], event["agent"], event["agent_id"], event["http_status"],
            event["reason"], event["blocked_by"], event["status"]) == (
        error["audit_id"], "off-bot", agent["id"], 403, "agent 'off-bot' is disabled",
        "authentication", "blocked")


async def test_locked_flag_refusal_is_audited(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    await gateway.client.patch("/v1/agents/bot", headers=ADMIN_HEADERS,
                               json={"flags": {"mode": "enforce"}, "locked_flags": ["mode"]})
    response = await gateway.chat(key, headers={"X-TapPass-Flags": "mode=off"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["step"]) == ("flag_locked", "flags")
    event = await last_event(gateway)
    assert (event["blocked_by"], event["http_status"]) == ("flags", 403)


async def test_a_refusal_that_cannot_be_audited_is_503(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await gateway.add_agent()
    await gateway.client.patch("/v1/agents/bot", headers=ADMIN_HEADERS, json={"enabled": False})
    await audit_fails(gateway, monkeypatch)
    response = await gateway.chat(key)
    assert response.status_code == 503
    assert response.json() == {"error": AUDIT_DOWN}
    assert "disk full" not in response.text


async def test_a_block_that_cannot_be_audited_is_503(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await gateway.add_agent(preset="standard")
    await audit_fails(gateway, monkeypatch)
    response = await gateway.chat(key, "nul\x00byte")  # validate_input blocks it
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_unavailable"


async def test_a_block_answers_and_audits_the_decision(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard")
    response = await gateway.chat(key, "nul\x00byte")
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["type"], error["step"]) == (
        "blocked", "policy_violation", "validate_input")
    assert "classification" in error and error["audit_id"] == \
        response.headers["x-tappass-audit-id"]
    assert response.headers["x-tappass-steps"].startswith("validate_input=block")
    event = await last_event(gateway)
    assert (event["id"], event["http_status"], event["status"]) == (
        error["audit_id"], 403, "blocked")


async def test_a_rate_limit_block_is_429_rate_limited_and_audited_as_such() -> None:
    async for gw in gateway_with(rate_limit_rpm=1):
        key = await gw.add_agent(preset="standard")
        assert (await gw.chat(key)).status_code == 200
        response = await gw.chat(key)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited"
        assert response.headers["retry-after"] == "60"
        assert (await last_event(gw))["http_status"] == 429


async def test_models_needs_a_valid_agent_or_admin_key(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    for headers in ({"Authorization": f"Bearer {key}"}, ADMIN_HEADERS):
        response = await gateway.client.get("/v1/models", headers=headers)
        assert response.status_code == 200
        assert response.json()["object"] == "list"
        assert [m["id"] for m in response.json()["data"]] == ["tappass/echo"]
    for headers in ({}, {"Authorization": "Bearer tp_nope"}, {"Authorization": key}):
        response = await gateway.client.get("/v1/models", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": {
            "message": "invalid or missing API key", "type": "authentication_error",
            "param": None, "code": "invalid_api_key"}}


async def test_models_lists_upstream_models_for_an_admin_too(proxied: Gateway) -> None:
    response = await proxied.client.get("/v1/models", headers=ADMIN_HEADERS)
    assert [m["id"] for m in response.json()["data"]] == ["tappass/echo", "gpt-4o",
                                                          "gpt-4o-mini"]


async def test_an_allowed_answer_is_json_with_governance_headers_and_audited_200(
        gateway: Gateway) -> None:
    key = await gateway.add_agent(flags={"pii": "mask"})
    response = await gateway.chat(key, "hi")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["choices"][0]["message"]["content"] == "hi"
    assert (response.headers["x-tappass-pipeline"], response.headers["x-tappass-mode"],
            response.headers["x-tappass-flags"]) == ("starter", "observe",
                                                     "mode=observe, pii=mask")
    assert response.headers["x-tappass-classification"] == "INTERNAL"   # classify_data
    event = await last_event(gateway)
    assert event["classification"] == "INTERNAL"
    assert (event["http_status"], event["status"], event["error"]) == (200, "allowed", None)


async def test_a_stream_carries_sse_and_governance_headers(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, "hi", stream=True)
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-tappass-audit-id"].startswith("ae_")
    assert response.headers["x-tappass-pipeline"] == "starter"


async def test_would_block_reasons_are_fully_percent_encoded(proxied: Gateway) -> None:
    key = await proxied.add_agent(preset="standard",
                                  flags={"mode": "observe", "budget": "custom:0:1"})
    response = await proxied.chat(key, "nul\x00byte", model="gpt-4o", max_tokens=1)
    assert response.status_code == 200
    assert response.headers["x-tappass-would-block"] == (
        "validate_input:invalid%20input%3A%20input%20contains%20NUL%20characters, "
        "budget_enforcement:estimated%20call%20cost%20%240.0000175%20exceeds%20the%20per-call"
        "%20budget%20of%20%240.00")


async def test_a_failing_step_answers_503_with_the_step_and_audits_the_error(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await gateway.add_agent()
    step = gateway.services.catalog.pipeline("starter").phases["before"][0].step

    async def broken(ctx: object) -> None:
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(step, "run", broken)
    response = await gateway.chat(key)
    audit_id = response.headers["x-tappass-audit-id"]
    assert response.status_code == 503
    error = response.json()["error"]
    assert {k: v for k, v in error.items() if k != "message"} == {
        "type": "governance_error", "param": None, "code": "step_failed",
        "audit_id": audit_id, "step": "validate_input", "retryable": False}
    assert "'validate_input' failed" in error["message"] and audit_id in error["message"]
    assert "detector crashed" not in response.text  # the cause is for admins only
    assert response.headers["x-tappass-steps"].startswith("validate_input=error")
    event = await last_event(gateway)
    assert (event["id"], event["reason"], event["http_status"]) == (
        audit_id, error["message"], 503)
    assert event["error"] == "step validate_input failed: RuntimeError: detector crashed"


async def test_an_answer_that_cannot_be_audited_is_503_without_the_cause(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await gateway.add_agent()
    await audit_fails(gateway, monkeypatch)
    response = await gateway.chat(key)
    assert response.status_code == 503
    assert response.json()["error"] == {
        **AUDIT_DOWN, "audit_id": response.headers["x-tappass-audit-id"]}
    assert "disk full" not in response.text


async def test_the_upstream_answer_is_forwarded_byte_for_byte(proxied: Gateway) -> None:
    key = await proxied.add_agent()
    response = await proxied.chat(key, "hi", model="spaced-json")
    assert b'"object": "chat.completion"' in response.content  # its spacing, not re-encoded
