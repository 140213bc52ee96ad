"""Pipeline configuration through the admin API: every seed snippet, errors, hot reload."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tappass.pipeline.step import Phase
from tests.conftest import ADMIN_HEADERS, Gateway
from tests.seeds import snippet

# Seed 000, "Client wants to change pipeline configuration", option 2 (JSON body as written)
SEED_000_PIPELINE = {
    "preset": "standard",
    "overrides": {"categories": {"pii_protection": {"enabled": True, "sensitivity": "high"},
                                 "cost_control": {"budget_usd": 10.0}}},
}

SEED_002_YAML = snippet("onboarding-nested")
SEED_003_PII = snippet("pii")
SEED_003_INJECTION = snippet("injection")
SEED_003_LATENCY = snippet("multimodal")
SEED_003_CLASSIFY = snippet("classification")


async def assign(gw: Gateway, body: dict[str, Any], agent: str = "finance-bot"):  # type: ignore[no-untyped-def]
    return await gw.client.patch(f"/v1/agents/{agent}/pipeline", headers=ADMIN_HEADERS,
                                 json=body)


async def definition_of(gw: Gateway, agent: str = "finance-bot"):  # type: ignore[no-untyped-def]
    record = await gw.services.agents.get(agent)
    return gw.services.catalog.for_agent(record).definition


def options_of(definition, step: str, phase: Phase = Phase.BEFORE) -> dict:  # type: ignore[no-untyped-def]
    return next(c.options for c in definition.phases[phase] if c.id == step)


def steps_in(definition, phase: Phase = Phase.BEFORE) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.id for c in definition.phases[phase]]


async def test_seed_000_friendly_categories(gateway: Gateway) -> None:
    await gateway.add_agent("finance-bot", preset="starter")
    response = await assign(gateway, SEED_000_PIPELINE)
    assert response.status_code == 200, response.text
    definition = await definition_of(gateway)
    assert definition.name == "standard"
    assert options_of(definition, "detect_pii") == {"sensitivity": "high"}
    assert options_of(definition, "budget_enforcement") == {"budget_usd": 10.0}


async def test_seed_002_yaml_file(gateway: Gateway) -> None:
    await gateway.add_agent("finance-bot")
    response = await assign(gateway, yaml.safe_load(SEED_002_YAML))
    assert response.status_code == 200, response.text
    definition = await definition_of(gateway)
    assert definition.name == "regulated"
    patterns = options_of(definition, "classify_data")["custom_patterns"]
    assert patterns[0]["pattern"] == "ACC-[0-9]{8}"
    assert definition.policy == {"require_human_approval": [
        {"classification": "RESTRICTED"}, {"classification": "TOP_SECRET"}]}


async def test_seed_002_yaml_with_policy_at_the_top_level(gateway: Gateway) -> None:
    await gateway.add_agent("finance-bot")
    document = yaml.safe_load(SEED_002_YAML)
    document["policy"] = document["overrides"].pop("policy")
    assert (await assign(gateway, document)).status_code == 200
    assert (await definition_of(gateway)).policy["require_human_approval"][0] == {
        "classification": "RESTRICTED"}


async def test_seed_003_pii_allowlist(gateway: Gateway) -> None:
    await gateway.add_agent("finance-bot", preset="standard")
    assert (await assign(gateway, yaml.safe_load(SEED_003_PII))).status_code == 200
    options = options_of(await definition_of(gateway), "detect_pii")
    assert options["allowlist"] == ["Anna Router", "Matt Board"]
    # the after-phase detect_pii is untouched: the snippet names the before phase
    assert options_of(await definition_of(gateway), "detect_pii", Phase.AFTER) == {}


async def test_seed_003_injection_layers_on_starter_adds_the_missing_steps(
        gateway: Gateway) -> None:
    await gateway.add_agent("finance-bot", preset="starter")
    assert (await assign(gateway, yaml.safe_load(SEED_003_INJECTION))).status_code == 200
    definition = await definition_of(gateway)
    assert {"detect_unicode_tricks", "detect_shell_bleed",
            "detect_privilege_escalation"} <= set(steps_in(definition))
    assert options_of(definition, "detect_prompt_injection") == {"sensitivity": "high"}
    assert definition.count(Phase.BEFORE) == 10


async def test_seed_003_disable_a_heavy_step(gateway: Gateway) -> None:
    await gateway.add_agent("finance-bot", preset="standard")
    assert (await assign(gateway, yaml.safe_load(SEED_003_LATENCY))).status_code == 200
    definition = await definition_of(gateway)
    assert "detect_multimodal_content" not in steps_in(definition)
    assert definition.count(Phase.BEFORE) == 22


async def test_seed_003_custom_classification_patterns(gateway: Gateway) -> None:
    await gateway.add_agent("finance-bot", preset="standard")
    assert (await assign(gateway, yaml.safe_load(SEED_003_CLASSIFY))).status_code == 200
    patterns = options_of(await definition_of(gateway), "classify_data")["custom_patterns"]
    assert [p["level"] for p in patterns] == ["CONFIDENTIAL", "RESTRICTED"]


@pytest.mark.parametrize("overrides, message", [
    ({"categories": {"before": {"data_protection": {"steps": {"detect_pii": {
        "options": {"allowlist": "Anna Router"}}}}}}},
     "overrides.categories.before.data_protection.steps.detect_pii.options.allowlist: "
     "expected a list of strings"),
    ({"categories": {"before": {"data_protection": {"steps": {"detect_everything": {}}}}}},
     "overrides.categories.before.data_protection.steps.detect_everything: unknown step"),
    ({"categories": {"before": {"data_protection": {"steps": {"detect_pii": {
        "options": {"sensitivity": "extreme"}}}}}}},
     "detect_pii.options.sensitivity: expected one of low | medium | high"),
    ({"categories": {"during": {}}}, "overrides.categories.during: expected a phase"),
    ({"categories": {"before": {"data_protection": {"steps": {"detect_pii": {
        "enabeld": True}}}}}}, "detect_pii.enabeld: unknown key"),
    ({"classification": {"custom_patterns": [{"name": "x", "pattern": "(",
                                              "level": "CONFIDENTIAL"}]}},
     "overrides.classification.custom_patterns[0].pattern: invalid regular expression"),
    ({"categories": {"cost_control": {"budget_usd": -5}}},
     "overrides.categories.cost_control.budget_usd: must be greater than 0"),
])
async def test_bad_overrides_are_400_naming_the_path(gateway: Gateway, overrides: dict,
                                                     message: str) -> None:
    await gateway.add_agent("finance-bot")
    response = await assign(gateway, {"overrides": overrides})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert (await gateway.services.agents.get("finance-bot")).overrides == {}  # nothing saved


async def test_unknown_preset_names_the_valid_ones(gateway: Gateway) -> None:
    response = await gateway.client.post("/v1/agents", headers=ADMIN_HEADERS,
                                         json={"name": "x", "preset": "enterprise"})
    assert response.status_code == 400
    assert "valid presets: starter, standard, regulated" in response.json()["error"]["message"]


async def test_a_change_applies_to_the_next_request(gateway: Gateway) -> None:
    key = await gateway.add_agent("finance-bot", preset="standard")
    assert (await gateway.chat(key, "nul\x00byte")).status_code == 403
    off = {"categories": {"before": {"classify_and_prepare": {"steps": {
        "validate_input": {"enabled": False}}}}}}
    assert (await assign(gateway, {"overrides": off})).status_code == 200
    assert (await gateway.chat(key, "nul\x00byte")).status_code == 200
    assert (await assign(gateway, {"overrides": {}})).status_code == 200
    assert (await gateway.chat(key, "nul\x00byte")).status_code == 403


async def test_budget_usd_override_is_enforced(upstream, proxied: Gateway) -> None:  # type: ignore[no-untyped-def]
    key = await proxied.add_agent("finance-bot", preset="standard")
    body = {"overrides": {"categories": {"cost_control": {"budget_usd": 0.0001}}}}
    assert (await assign(proxied, body)).status_code == 200
    statuses = [(await proxied.chat(key, model="gpt-4o", max_tokens=5)).status_code
                for _ in range(3)]
    assert statuses[-1] == 403


async def test_custom_pipeline_create_view_assign(gateway: Gateway) -> None:
    response = await gateway.client.post("/admin/pipelines", headers=ADMIN_HEADERS, json={
        "name": "custom-claims", "base": "regulated",
        "enable": ["tool_poisoning_detection"], "disable": ["debug_logging"]})
    assert response.status_code == 201, response.text
    assert response.json()["counts"] == {"before": 24, "call": 8, "after": 12, "total": 44}
    listed = (await gateway.client.get("/admin/pipelines", headers=ADMIN_HEADERS)).json()
    assert [p["name"] for p in listed["data"]] == ["starter", "standard", "regulated",
                                                   "custom-claims"]
    key = await gateway.add_agent("claims-bot", preset="custom-claims")
    response = await gateway.chat(key)
    assert response.headers["x-tappass-pipeline"] == "custom-claims"
    assert "debug_logging" not in response.headers["x-tappass-steps"]
    again = await gateway.client.post("/admin/pipelines", headers=ADMIN_HEADERS,
                                      json={"name": "custom-claims", "base": "starter"})
    assert again.status_code == 409
    in_use = await gateway.client.delete("/admin/pipelines/custom-claims",
                                         headers=ADMIN_HEADERS)
    assert in_use.status_code == 409


async def test_custom_pipeline_errors(gateway: Gateway) -> None:
    for body, message in [
        ({"name": "x", "base": "platinum"}, "base: expected one of starter, standard"),
        ({"name": "x", "base": "standard", "enable": ["detect_everything"]}, "unknown step"),
        ({"name": "regulated", "base": "standard"}, "is a preset"),
    ]:
        response = await gateway.client.post("/admin/pipelines", headers=ADMIN_HEADERS,
                                             json=body)
        assert response.status_code == 400 and message in response.json()["error"]["message"]


async def test_pipeline_views(gateway: Gateway) -> None:
    view = (await gateway.client.get("/admin/pipelines/regulated",
                                     headers=ADMIN_HEADERS)).json()
    assert view["counts"] == {"before": 24, "call": 8, "after": 13, "total": 45}
    assert sum(len(s) for s in view["categories"]["before"].values()) == 24
    default = (await gateway.client.get("/admin/pipelines/default",
                                        headers=ADMIN_HEADERS)).json()
    assert default["name"] == "standard" and default["default"] is True
    missing = await gateway.client.get("/admin/pipelines/nope", headers=ADMIN_HEADERS)
    assert missing.status_code == 404


async def test_step_view(gateway: Gateway) -> None:
    view = (await gateway.client.get("/admin/steps/detect_injection",
                                     headers=ADMIN_HEADERS)).json()
    assert view["id"] == "detect_prompt_injection"
    assert view["presets"] == {"starter": ["before"], "standard": ["before"],
                               "regulated": ["before"]}
    assert {o["name"]: o["default"] for o in view["options"]}["sensitivity"] == "medium"
    rate = (await gateway.client.get("/admin/steps/rate_limit?pipeline=starter",
                                     headers=ADMIN_HEADERS)).json()
    assert rate["available"] is True and rate["pipeline"]["runs_in"] == ["before"]
    assert (await gateway.client.get("/admin/steps/nope", headers=ADMIN_HEADERS)
            ).status_code == 404


@pytest.mark.parametrize("header, status", [
    ("mode=observe", 403), ("mode=off", 403), ("mode=enforce", 200), ("pii=redact", 200)])
async def test_locked_flags_cannot_be_loosened(gateway: Gateway, header: str,
                                               status: int) -> None:
    response = await gateway.client.post("/v1/agents", headers=ADMIN_HEADERS, json={
        "name": "locked-bot", "preset": "standard", "flags": {"mode": "enforce"},
        "locked_flags": ["mode"]})
    key = response.json()["api_key"]
    response = await gateway.chat(key, headers={"X-TapPass-Flags": header})
    assert response.status_code == status
    if status == 403:
        error = response.json()["error"]
        assert error["code"] == "flag_locked" and "'mode'" in error["reason"]
        assert error["step"] == "flags"


async def test_locked_mode_may_be_made_stricter(gateway: Gateway) -> None:
    await gateway.client.post("/v1/agents", headers=ADMIN_HEADERS, json={
        "name": "obs-bot", "preset": "starter", "locked_flags": ["mode"]})
    key = (await gateway.client.post("/v1/agents/obs-bot/rotate-key",
                                     headers=ADMIN_HEADERS)).json()["api_key"]
    assert (await gateway.chat(key, headers={"X-TapPass-Flags": "mode=enforce"})
            ).status_code == 200
    assert (await gateway.chat(key, headers={"X-TapPass-Flags": "mode=off"})
            ).status_code == 403


async def test_locked_flags_validation(gateway: Gateway) -> None:
    response = await gateway.client.post("/v1/agents", headers=ADMIN_HEADERS, json={
        "name": "x", "locked_flags": ["colour"]})
    assert response.status_code == 400 and "colour" in response.json()["error"]["message"]
