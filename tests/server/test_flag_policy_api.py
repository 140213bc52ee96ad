"""The admin API's `loosenable_flags`: which flags an agent's requests may loosen."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_HEADERS, Gateway


async def test_create_show_and_patch_loosenable_flags(gateway: Gateway) -> None:
    created = await gateway.client.post("/v1/agents", headers=ADMIN_HEADERS, json={
        "name": "lab-bot", "flags": {"budget": "dev"}, "loosenable_flags": ["mode", "budget"],
        "locked_flags": ["email"]})
    assert created.status_code == 201, created.text
    assert created.json()["loosenable_flags"] == ["budget", "mode"]
    shown = (await gateway.client.get("/v1/agents/lab-bot", headers=ADMIN_HEADERS)).json()
    assert (shown["loosenable_flags"], shown["locked_flags"]) == (["budget", "mode"], ["email"])
    patched = await gateway.client.patch("/v1/agents/lab-bot", headers=ADMIN_HEADERS,
                                         json={"loosenable_flags": []})
    assert patched.status_code == 200 and patched.json()["loosenable_flags"] == []
    listed = (await gateway.client.get("/v1/agents", headers=ADMIN_HEADERS)).json()
    assert listed["data"][0]["loosenable_flags"] == []


async def test_an_agent_allows_no_loosening_by_default(gateway: Gateway) -> None:
    key = await gateway.add_agent("plain-bot", "standard")
    shown = (await gateway.client.get("/v1/agents/plain-bot", headers=ADMIN_HEADERS)).json()
    assert shown["loosenable_flags"] == []
    response = await gateway.chat(key, headers={"X-TapPass-Flags": "mode=off"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "flag_locked"


async def test_a_patch_takes_effect_on_the_next_request(gateway: Gateway) -> None:
    key = await gateway.add_agent("quick-bot", "standard")
    off = {"X-TapPass-Flags": "mode=off"}
    refused = await gateway.chat(key, headers=off)
    assert refused.status_code == 403  # and the refusal names the fix for this very agent
    assert "`tappass agents allow-loosening quick-bot mode`" in refused.json()["error"]["reason"]
    await gateway.client.patch("/v1/agents/quick-bot", headers=ADMIN_HEADERS,
                               json={"loosenable_flags": ["mode"]})
    response = await gateway.chat(key, headers=off)
    assert response.status_code == 200 and response.headers["x-tappass-mode"] == "off"
    await gateway.client.patch("/v1/agents/quick-bot", headers=ADMIN_HEADERS,
                               json={"loosenable_flags": []})
    assert (await gateway.chat(key, headers=off)).status_code == 403


@pytest.mark.parametrize("method, path, body, message", [
    ("POST", "/v1/agents", {"name": "x-bot", "loosenable_flags": ["colour"]},
     "unknown flag 'colour'; valid flags: mode, pii, email, budget"),
    ("POST", "/v1/agents", {"name": "x-bot", "loosenable_flags": "mode"},
     "expected a list of flag names"),
    ("PATCH", "/v1/agents/plain", {"loosenable_flags": ["mode", 3]},
     "expected a list of flag names"),
])
async def test_bad_loosenable_flags_are_named(gateway: Gateway, method: str, path: str,
                                              body: dict[str, object], message: str) -> None:
    await gateway.add_agent("plain")
    response = await gateway.client.request(method, path, headers=ADMIN_HEADERS, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "loosenable_flags"
    assert error["message"].startswith(f"loosenable_flags: {message}")
    assert (await gateway.client.get("/v1/agents/x-bot", headers=ADMIN_HEADERS)
            ).status_code == 404


async def test_an_unset_budget_is_the_pipelines_default_tier(gateway: Gateway) -> None:
    """With `default_budget: dev` in the agent's pipeline, `budget=standard` loosens it."""
    key = await gateway.add_agent("dev-bot", "standard")
    response = await gateway.client.patch("/v1/agents/dev-bot/pipeline", headers=ADMIN_HEADERS,
                                          json={"overrides": {"categories": {"before": {
                                              "access_control": {"steps": {
                                                  "budget_enforcement": {"options": {
                                                      "default_budget": "dev"}}}}}}}})
    assert response.status_code == 200, response.text
    refused = await gateway.chat(key, headers={"X-TapPass-Flags": "budget=standard"})
    assert refused.status_code == 403, refused.text
    assert "budget is dev for it" in refused.json()["error"]["message"]
    assert (await gateway.chat(key, headers={"X-TapPass-Flags": "budget=dev"})
            ).status_code == 200
