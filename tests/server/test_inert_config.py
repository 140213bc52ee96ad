"""Configuration that has no effect in this version is accepted with `warnings`, never silently,
and agents are found by id as well as by name."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_HEADERS, Gateway

CLASSIFICATION = {"categories": {"classification": {"enabled": True,
                                                   "default_level": "CONFIDENTIAL"}}}


async def test_configuring_an_implemented_step_for_an_agent_does_not_warn(
        gateway: Gateway) -> None:
    await gateway.add_agent("inert-bot")
    response = await gateway.client.patch("/v1/agents/inert-bot/pipeline", headers=ADMIN_HEADERS,
                                          json={"overrides": CLASSIFICATION})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []    # classify_data is implemented


@pytest.mark.parametrize("unimplemented_steps", ["classify_data"], indirect=True)
async def test_enabling_an_unimplemented_step_for_an_agent_warns(
        gateway_missing_steps: Gateway) -> None:
    gateway = gateway_missing_steps
    await gateway.add_agent("inert-bot")
    response = await gateway.client.patch("/v1/agents/inert-bot/pipeline", headers=ADMIN_HEADERS,
                                          json={"overrides": CLASSIFICATION})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == [
        "overrides.categories.classification: classify_data (default_level) is "
        "not implemented in this version; stored, but it has no effect until it is"]
    response = await gateway.client.patch("/v1/agents/inert-bot/pipeline", headers=ADMIN_HEADERS,
                                          json={"overrides": {"steps": {
                                              "rate_limit": {"options": {
                                                  "requests_per_minute": 5}}}}})
    assert response.json()["warnings"] == []


@pytest.mark.parametrize("unimplemented_steps", ["taint_tracking"], indirect=True)
async def test_custom_pipeline_enable_and_policy_warn(gateway_missing_steps: Gateway) -> None:
    gateway = gateway_missing_steps
    response = await gateway.client.post("/admin/pipelines", headers=ADMIN_HEADERS, json={
        "name": "inert-pipe", "base": "starter", "enable": ["taint_tracking"],
        "disable": ["detect_pii"], "overrides": {"policy": {"require_human_approval": [
            {"classification": "RESTRICTED"}]}}})
    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert warnings[0].startswith("enable: taint_tracking is not implemented")
    assert warnings[1].startswith("overrides.policy.require_human_approval: human approval is "
                                  "not implemented")
    assert len(warnings) == 2  # disabling an unimplemented step is no warning


async def test_custom_pipeline_enabling_an_implemented_step_warns_only_about_approval(
        gateway: Gateway) -> None:
    response = await gateway.client.post("/admin/pipelines", headers=ADMIN_HEADERS, json={
        "name": "live-pipe", "base": "starter", "enable": ["taint_tracking"],
        "overrides": {"policy": {"require_human_approval": [{"classification": "RESTRICTED"}]}}})
    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("overrides.policy.require_human_approval")


@pytest.mark.parametrize("unimplemented_steps", [("pii_tokenization", "pii_restore")],
                         indirect=True)
async def test_flags_only_unimplemented_steps_act_on_warn(gateway_missing_steps: Gateway) -> None:
    gateway = gateway_missing_steps
    response = await gateway.client.post("/v1/agents", headers=ADMIN_HEADERS, json={
        "name": "flagged", "flags": {"pii": "tokenize", "mode": "observe", "budget": "dev"}})
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "flags.pii=tokenize: the steps acting on it (pii_tokenization, pii_restore) "
        "are not implemented in this version; stored, but it has no effect until they are"]
    for acted_on in ({"pii": "mask"}, {"pii": "off"}):  # detect_pii masks; off asks nothing
        response = await gateway.client.patch("/v1/agents/flagged", headers=ADMIN_HEADERS,
                                              json={"flags": acted_on})
        assert response.json()["warnings"] == []


@pytest.mark.parametrize("unimplemented_steps", ["pii_tokenization"], indirect=True)
async def test_a_flag_warns_only_when_every_step_acting_on_it_is_unimplemented(
        gateway_missing_steps: Gateway) -> None:
    response = await gateway_missing_steps.client.post("/v1/agents", headers=ADMIN_HEADERS,
                                                       json={"name": "half",
                                                             "flags": {"pii": "tokenize"}})
    assert response.status_code == 201 and response.json()["warnings"] == []


async def test_tokenize_is_implemented_and_warns_no_more(gateway: Gateway) -> None:
    response = await gateway.client.post("/v1/agents", headers=ADMIN_HEADERS, json={
        "name": "tokens", "flags": {"pii": "tokenize"}})
    assert response.status_code == 201 and response.json()["warnings"] == []


async def test_every_agent_route_takes_the_id(gateway: Gateway) -> None:
    key = await gateway.add_agent("by-id")
    client, headers = gateway.client, ADMIN_HEADERS
    agent_id = (await client.get("/v1/agents/by-id", headers=headers)).json()["id"]
    assert (await client.get(f"/v1/agents/{agent_id}", headers=headers)).json()["name"] == "by-id"
    changed = await client.patch(f"/v1/agents/{agent_id}", headers=headers,
                                 json={"enabled": False})
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert (await gateway.chat(key)).status_code == 403
    await client.patch(f"/v1/agents/{agent_id}", headers=headers, json={"enabled": True})
    assigned = await client.patch(f"/v1/agents/{agent_id}/pipeline", headers=headers,
                                  json={"preset": "regulated"})
    assert assigned.json()["pipeline"]["name"] == "regulated"
    rotated = await client.post(f"/v1/agents/{agent_id}/rotate-key", headers=headers)
    assert (await gateway.chat(rotated.json()["api_key"])).status_code == 200
    audit = await client.get("/v1/audit", headers=headers, params={"agent": agent_id})
    assert {e["agent"] for e in audit.json()["data"]} == {"by-id"} and audit.json()["count"] == 2
    deleted = await client.delete(f"/v1/agents/{agent_id}", headers=headers)
    assert deleted.json() == {"deleted": "by-id", "id": agent_id}
    missing = await client.get(f"/v1/agents/{agent_id}", headers=headers)
    assert missing.status_code == 404 and "not found (by name or id)" in missing.text
