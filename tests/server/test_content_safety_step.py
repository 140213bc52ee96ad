"""content_safety on answers through the gateway (tappass/echo answers with the user text;
the request-side steps that would stop the same text are turned off)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN_HEADERS, Gateway

INSTRUCTIONS = "To make a pipe bomb, first, pack the pipe with 200 g of powder."
MENTION = "The Molotov cocktail got its name in the Winter War."


async def agent(gw: Gateway, **options: Any) -> str:
    key = await gw.add_agent("cs", preset="standard", flags={"pii": "off"})
    patched = await gw.client.patch("/v1/agents/cs/pipeline", headers=ADMIN_HEADERS, json={
        "overrides": {"categories": {"after": {"response_safety": {"steps": {
            "content_safety": {"options": options}}}}}}})
    assert patched.status_code == 200, patched.text
    return key


async def test_instructions_are_blocked_and_a_mention_flagged(gateway: Gateway) -> None:
    key = await agent(gateway)
    blocked = await gateway.chat(key, INSTRUCTIONS)
    assert blocked.status_code == 403, blocked.text
    assert blocked.json()["error"]["step"] == "content_safety"
    assert "weapons" in blocked.json()["error"]["reason"]
    assert "pipe bomb" not in blocked.text
    flagged = await gateway.chat(key, MENTION)
    assert flagged.status_code == 200
    event = await gateway.event(flagged.headers["x-tappass-audit-id"])
    step = next(s for s in event["steps"] if s["step"] == "content_safety")
    assert step["verdict"] == "flag" and step["findings"][0]["score"] == 0.4


async def test_high_sensitivity_blocks_a_mention(gateway: Gateway) -> None:
    key = await agent(gateway, sensitivity="high")
    assert (await gateway.chat(key, MENTION)).status_code == 403


async def test_a_category_left_out_is_not_checked(gateway: Gateway) -> None:
    key = await agent(gateway, categories=["hate", "self_harm"])
    assert (await gateway.chat(key, INSTRUCTIONS)).status_code == 200


async def test_an_unknown_category_is_refused_naming_the_valid_ones(gateway: Gateway) -> None:
    await gateway.add_agent("cs2", preset="standard")
    response = await gateway.client.patch(
        "/v1/agents/cs2/pipeline", headers=ADMIN_HEADERS, json={"overrides": {"categories": {
            "after": {"response_safety": {"steps": {"content_safety": {"options": {
                "categories": ["gore"]}}}}}}}})
    assert response.status_code == 400
    assert "gore" in response.text and "sexual_minors" in response.text


@pytest.mark.parametrize("text", ["Kill the process with kill -9.", "Revenue grew 12 %."])
async def test_ordinary_answers_pass(gateway: Gateway, text: str) -> None:
    key = await agent(gateway)
    assert (await gateway.chat(key, text)).status_code == 200
