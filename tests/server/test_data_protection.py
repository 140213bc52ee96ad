"""detect_secrets, detect_business_data, detect_infrastructure_data through the gateway.

The fake upstream records what it receives and echoes the last user text, so the tests see
what the provider saw and what the agent got back.
"""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import ADMIN_HEADERS, Gateway
from tests.support.fake_upstream import FakeUpstream

TOKEN = "ghp_" + "Zq8Lm2Xv4Rt6Yb1Nc3Kd5Hf7Jg9Pw0Sa2Ue4"
AWS_ID = "AKIA" + "Q3EGRJZ5KXYW7TMB"
PROMPT = f"Why does the deploy fail? GITHUB_TOKEN={TOKEN} and the key id is {AWS_ID}."


async def audit(gw: Gateway, response: Any) -> dict[str, Any]:
    return await gw.event(response.headers["x-tappass-audit-id"])


def step(event: dict[str, Any], step_id: str, phase: str = "before") -> dict[str, Any]:
    return next(s for s in event["steps"] if s["step"] == step_id and s["phase"] == phase)


async def configure(gw: Gateway, agent: str, before: dict[str, Any] | None = None,
                    after: dict[str, Any] | None = None) -> None:
    categories: dict[str, Any] = {}
    if before is not None:
        categories["before"] = {"data_protection": {"steps": before}}
    if after is not None:
        categories["after"] = {"data_protection": {"steps": after}}
    response = await gw.client.patch(f"/v1/agents/{agent}/pipeline", headers=ADMIN_HEADERS,
                                     json={"preset": "standard",
                                           "overrides": {"categories": categories}})
    assert response.status_code == 200, response.text


async def test_the_provider_never_sees_a_redacted_secret(proxied: Gateway,
                                                         upstream: FakeUpstream) -> None:
    key = await proxied.add_agent(preset="standard")
    response = await proxied.chat(key, PROMPT, model="gpt-4o")
    assert response.status_code == 200
    sent = upstream.requests[-1]["body"]["messages"][0]["content"]
    assert sent == ("Why does the deploy fail? GITHUB_TOKEN=[REDACTED:GITHUB_TOKEN] and the "
                    "key id is [REDACTED:AWS_ACCESS_KEY].")
    event = await audit(proxied, response)
    secrets = step(event, "detect_secrets")
    assert secrets["verdict"] == "transform"
    assert [f["type"] for f in secrets["findings"]] == ["GITHUB_TOKEN", "AWS_ACCESS_KEY"]
    dumped = orjson.dumps(event).decode()
    assert TOKEN not in dumped and AWS_ID not in dumped


async def test_redaction_rewrites_text_parts_and_leaves_other_messages_alone(
        proxied: Gateway, upstream: FakeUpstream) -> None:
    key = await proxied.add_agent(preset="standard")
    messages = [{"role": "system", "content": "You help with deploys."},
                {"role": "user", "content": [{"type": "text", "text": f"token {TOKEN}"}]}]
    response = await proxied.client.post(
        "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
        json={"model": "gpt-4o", "messages": messages})
    assert response.status_code == 200
    sent = upstream.requests[-1]["body"]["messages"]
    assert sent == [messages[0], {"role": "user", "content": [
        {"type": "text", "text": "token [REDACTED:GITHUB_TOKEN]"}]}]


async def test_block_answers_403_naming_detect_secrets(proxied: Gateway,
                                                       upstream: FakeUpstream) -> None:
    await proxied.add_agent("ops-bot", preset="standard")
    key = await proxied.add_agent("ops-bot-2", preset="standard")
    await configure(proxied, "ops-bot-2", before={"detect_secrets": {"options": {
        "action": "block"}}})
    before = len(upstream.requests)
    response = await proxied.chat(key, PROMPT, model="gpt-4o")
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["step"], error["code"]) == ("detect_secrets", "blocked")
    assert "GITHUB_TOKEN" in error["reason"] and TOKEN not in response.text
    assert len(upstream.requests) == before
    event = await audit(proxied, response)
    assert event["blocked_by"] == "detect_secrets"


async def test_observe_mode_records_would_block(proxied: Gateway) -> None:
    key = await proxied.add_agent("ops-bot", preset="standard")
    await configure(proxied, "ops-bot", before={"detect_secrets": {"options": {
        "action": "block"}}})
    response = await proxied.chat(key, PROMPT, model="gpt-4o",
                                  headers={"X-TapPass-Flags": "mode=observe"})
    assert response.status_code == 200
    event = await audit(proxied, response)
    assert [w["step"] for w in event["would_block"]] == ["detect_secrets"]
    assert step(event, "detect_secrets")["verdict"] == "would_block"


async def test_a_secret_in_the_answer_is_redacted_after_the_call(
        proxied: Gateway, upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("ops-bot", preset="standard")
    await configure(proxied, "ops-bot", before={"detect_secrets": {"enabled": False}})
    response = await proxied.chat(key, f"repeat {TOKEN}", model="gpt-4o")
    assert TOKEN in upstream.requests[-1]["body"]["messages"][0]["content"]
    assert response.status_code == 200
    answer = response.json()["choices"][0]["message"]["content"]
    assert answer == "upstream says: repeat [REDACTED:GITHUB_TOKEN]"
    assert response.json()["usage"]["total_tokens"] == 15  # the rest of the answer is kept
    event = await audit(proxied, response)
    assert step(event, "detect_secrets", "after")["verdict"] == "transform"


async def test_a_secret_in_the_answer_blocks_when_configured(proxied: Gateway) -> None:
    key = await proxied.add_agent("ops-bot", preset="standard")
    await configure(proxied, "ops-bot", before={"detect_secrets": {"enabled": False}},
                    after={"detect_secrets": {"options": {"action": "block"}}})
    response = await proxied.chat(key, f"repeat {TOKEN}", model="gpt-4o")
    assert response.status_code == 403
    assert response.json()["error"]["step"] == "detect_secrets"
    assert TOKEN not in response.text
    event = await audit(proxied, response)
    assert "answer" in step(event, "detect_secrets", "after")["reason"]


async def test_business_and_infrastructure_data_are_flagged_not_changed(
        proxied: Gateway, upstream: FakeUpstream) -> None:
    # pii off: the private IP is personal data to detect_pii too, which would block it
    key = await proxied.add_agent(preset="standard", flags={"pii": "off"})
    prompt = "Q3 revenue was $4.2M; the board minutes are on 10.0.3.17 (files.corp)."
    response = await proxied.chat(key, prompt, model="gpt-4o")
    assert response.status_code == 200
    assert upstream.requests[-1]["body"]["messages"][0]["content"] == prompt
    event = await audit(proxied, response)
    business = step(event, "detect_business_data")
    infra = step(event, "detect_infrastructure_data")
    assert business["verdict"] == infra["verdict"] == "flag"
    assert {f["type"] for f in business["findings"]} == {"FINANCIAL_FIGURE", "BOARD_MATERIAL"}
    assert {f["type"] for f in infra["findings"]} == {"PRIVATE_IP", "INTERNAL_HOSTNAME"}
    assert "$4.2M" not in orjson.dumps(event).decode()


async def test_infrastructure_redaction_uses_internal_domains_and_allowlist(
        proxied: Gateway, upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("ops-bot", preset="standard", flags={"pii": "off"})
    await configure(proxied, "ops-bot", before={"detect_infrastructure_data": {"options": {
        "action": "redact", "internal_domains": ["acme.io"], "allowlist": ["10.0.0.1"]}}})
    response = await proxied.chat(key, "ping jenkins.build.acme.io, 10.0.0.1 and 10.0.0.2",
                                  model="gpt-4o")
    assert response.status_code == 200
    assert upstream.requests[-1]["body"]["messages"][0]["content"] == (
        "ping [REDACTED:INTERNAL_HOSTNAME], 10.0.0.1 and [REDACTED:PRIVATE_IP]")


async def test_business_keywords_and_custom_patterns_block(proxied: Gateway) -> None:
    key = await proxied.add_agent("ops-bot", preset="standard")
    await configure(proxied, "ops-bot", before={"detect_business_data": {"options": {
        "action": "block", "keywords": ["Project Falcon"],
        "custom_patterns": [{"name": "deal_code", "pattern": "DEAL-[0-9]{4}"}]}}})
    for prompt, kind in (("status of project falcon?", "BUSINESS_KEYWORD"),
                         ("see DEAL-1234", "DEAL_CODE")):
        response = await proxied.chat(key, prompt, model="gpt-4o")
        assert response.status_code == 403
        assert response.json()["error"]["step"] == "detect_business_data"
        assert kind in response.json()["error"]["reason"]
    assert (await proxied.chat(key, "status of the falcon project?", model="gpt-4o")
            ).status_code == 200
