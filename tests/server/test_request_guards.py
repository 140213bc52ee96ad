"""What `POST /v1/chat/completions` answers and audits before the pipeline runs (issue 20)."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_HEADERS, Gateway


async def last_event(gw: Gateway) -> dict[str, Any]:
    response = await gw.client.get("/v1/audit?limit=1", headers=ADMIN_HEADERS)
    return dict(response.json()["data"][0])


async def test_authentication_failures_have_exact_bodies_and_audit_ids(
        gateway: Gateway) -> None:
    cases = [({}, "missing API key: send 'Authorization: Bearer tp_...'", "missing_api_key"),
             ({"Authorization": "Bearer tp_wrong"}, "invalid API key", "invalid_api_key")]
    for headers, message, code in cases:
        response = await gateway.client.post("/v1/chat/completions", headers=headers,
                                             json={})
        assert response.status_code == 401
        assert response.json() == {"error": {"message": message,
                                             "type": "authentication_error",
                                             "param": None, "code": code}}
        audit_id = response.headers["X-TapPass-Audit-Id"]
        assert audit_id.startswith("ae_") and len(audit_id) == 27
        event = await last_event(gateway)
        assert (event["id"], event["reason"]) == (audit_id, message)


async def test_an_invalid_body_is_400_naming_the_field_and_audited(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    agent_id = (await gateway.client.get("/v1/agents/bot", headers=ADMIN_HEADERS)).json()["id"]
    response = await gateway.client.post(
        "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
        json={"model": "tappass/echo"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_request", "messages")
    event = await last_event(gateway)
    assert event["id"] == response.headers["X-TapPass-Audit-Id"]
    assert (event["agent"], event["agent_id"], event["status"], event["http_status"],
            event["reason"]) == ("bot", agent_id, "failed", 400, error["message"])


async def test_a_pipeline_that_no_longer_loads_fails_closed_503(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    created = await gateway.client.post("/admin/pipelines", headers=ADMIN_HEADERS,
                                        json={"name": "lean", "base": "starter"})
    assert created.status_code == 201
    await gateway.client.patch("/v1/agents/bot/pipeline", headers=ADMIN_HEADERS,
                               json={"preset": "lean"})
    await gateway.services.store.delete_pipeline("lean")  # gone underneath the gateway
    await gateway.services.catalog.load()
    response = await gateway.chat(key)
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("governance_error", "pipeline_invalid")
    assert error["retryable"] is False  # an admin must fix the pipeline: retrying won't help
    assert error["audit_id"] == response.headers["X-TapPass-Audit-Id"]
    assert error["message"].startswith("the agent's pipeline cannot be loaded: preset: "
                                       "unknown preset 'lean'")
    event = await last_event(gateway)
    agent_id = (await gateway.client.get("/v1/agents/bot", headers=ADMIN_HEADERS)).json()["id"]
    assert (event["agent"], event["agent_id"], event["status"], event["http_status"]) == (
        "bot", agent_id, "failed", 503)
    assert event["reason"].startswith("preset: unknown preset 'lean'")
    assert event["id"] == error["audit_id"]


async def test_the_session_id_reaches_the_audit_event(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    await gateway.chat(key, headers={"X-Session-Id": "conversation-7"})
    assert (await last_event(gateway))["session_id"] == "conversation-7"


async def test_a_bad_flags_header_is_400_with_its_own_code(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, headers={"X-TapPass-Flags": "colour=blue"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_flag", "flags")
