"""detect_pii through the gateway: what the provider receives under each `pii` flag."""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from tappass.pipeline.rewrite import rewrite_messages
from tappass.pipeline.step import Finding
from tappass.pipeline.steps.detect_pii import mask
from tests.conftest import ADMIN_HEADERS, Gateway
from tests.seeds import snippet
from tests.support.fake_upstream import FakeUpstream

PROMPT = "Please email John Smith at john@example.com about the invoice."


def sent_text(upstream: FakeUpstream) -> str:
    return orjson.dumps(upstream.requests[-1]["body"]["messages"]).decode()


def step_result(event: dict[str, Any], step: str, phase: str = "before") -> dict[str, Any]:
    return next(s for s in event["steps"] if s["step"] == step and s["phase"] == phase)


async def test_mask_hides_values_from_the_provider(proxied: Gateway,
                                                   upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("finance-bot", preset="regulated", flags={"pii": "mask"})
    response = await proxied.chat(key, PROMPT, model="gpt-4o")
    assert response.status_code == 200, response.text
    sent = sent_text(upstream)
    assert "john@example.com" not in sent and "John Smith" not in sent
    assert "Please email [PERSON] at [EMAIL] about the invoice." in sent
    event = await proxied.event(response.headers["x-tappass-audit-id"])
    result = step_result(event, "detect_pii")
    assert result["verdict"] == "transform"
    assert {f["type"] for f in result["findings"]} == {"PERSON", "EMAIL"}
    assert "john@example.com" not in orjson.dumps(event).decode()   # types and spans only
    assert "John Smith" not in orjson.dumps(event).decode()


async def test_redact_hides_values_from_the_provider(proxied: Gateway,
                                                     upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("finance-bot", preset="regulated", flags={"pii": "redact"})
    response = await proxied.chat(key, PROMPT, model="gpt-4o")
    assert response.status_code == 200, response.text
    sent = sent_text(upstream)
    assert "john@example.com" not in sent and "John Smith" not in sent
    assert "Please email [REDACTED] at [REDACTED] about the invoice." in sent


async def test_block_answers_403_from_detect_pii(proxied: Gateway,
                                                 upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("finance-bot", preset="regulated", flags={"pii": "block"})
    calls = len(upstream.requests)
    response = await proxied.chat(key, PROMPT, model="gpt-4o")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["blocked_by"] == "detect_pii" and error["reason"] == "PII detected in request"
    assert len(upstream.requests) == calls


async def test_block_is_the_default_and_observe_only_records(proxied: Gateway,
                                                              upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("finance-bot", preset="regulated")
    assert (await proxied.chat(key, PROMPT, model="gpt-4o")).status_code == 403
    response = await proxied.chat(key, PROMPT, model="gpt-4o",
                                  headers={"X-TapPass-Flags": "mode=observe"})
    assert response.status_code == 200
    assert "john@example.com" in sent_text(upstream)
    event = await proxied.event(response.headers["x-tappass-audit-id"])
    assert {"step": "detect_pii", "phase": "before",
            "reason": "PII detected in request"} in event["would_block"]


async def test_off_and_clean_prompts_pass_untouched(proxied: Gateway,
                                                    upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("finance-bot", preset="regulated", flags={"pii": "off"})
    assert (await proxied.chat(key, PROMPT, model="gpt-4o")).status_code == 200
    assert "john@example.com" in sent_text(upstream)
    clean = await proxied.add_agent("clean-bot", preset="regulated")
    response = await proxied.chat(clean, "What is the capital of France?", model="gpt-4o")
    assert response.status_code == 200
    event = await proxied.event(response.headers["x-tappass-audit-id"])
    assert step_result(event, "detect_pii")["verdict"] == "allow"


async def test_seed_003_allowlist_stops_only_anna_router(proxied: Gateway,
                                                         upstream: FakeUpstream) -> None:
    prompt = "Anna Router is down again; John Smith (john@example.com) will reboot it."
    key = await proxied.add_agent("finance-bot", preset="regulated", flags={"pii": "mask"})
    await proxied.chat(key, prompt, model="gpt-4o")
    before = sent_text(upstream)
    assert "Anna Router" not in before
    response = await proxied.client.patch("/v1/agents/finance-bot/pipeline",
                                          headers=ADMIN_HEADERS,
                                          json=yaml.safe_load(snippet("pii")))
    assert response.status_code == 200, response.text
    await proxied.chat(key, prompt, model="gpt-4o")
    after = sent_text(upstream)
    assert "Anna Router is down again" in after
    assert after == before.replace("[PERSON] is down again", "Anna Router is down again")


async def test_answer_is_masked_after_the_call(proxied: Gateway) -> None:
    # the fake upstream echoes the prompt; pii=off before, so only the after step can mask
    key = await proxied.add_agent("finance-bot", preset="regulated", flags={"pii": "mask"})
    body = {"categories": {"before": {"data_protection": {"steps": {
        "detect_pii": {"enabled": False}}}}}}
    response = await proxied.client.patch("/v1/agents/finance-bot/pipeline",
                                          headers=ADMIN_HEADERS, json={"overrides": body})
    assert response.status_code == 200, response.text
    response = await proxied.chat(key, PROMPT, model="gpt-4o")
    assert response.status_code == 200, response.text
    content = response.json()["choices"][0]["message"]["content"]
    assert content == "upstream says: Please email [PERSON] at [EMAIL] about the invoice."
    event = await proxied.event(response.headers["x-tappass-audit-id"])
    assert step_result(event, "detect_pii", "after")["verdict"] == "transform"


async def test_tool_call_arguments_in_the_answer_are_masked(proxied: Gateway) -> None:
    key = await proxied.add_agent("mailer", preset="standard", flags={"pii": "mask"})
    body = {"categories": {"before": {"data_protection": {"steps": {
        "detect_pii": {"enabled": False}}}}}}
    response = await proxied.client.patch("/v1/agents/mailer/pipeline",
                                          headers=ADMIN_HEADERS, json={"overrides": body})
    assert response.status_code == 200, response.text
    wanted = orjson.dumps({"name": "lookup", "arguments": {"q": "john@example.com"}}).decode()
    response = await proxied.chat(key, wanted, model="tool-from-prompt")
    assert response.status_code == 200, response.text
    call = response.json()["choices"][0]["message"]["tool_calls"][0]
    assert orjson.loads(call["function"]["arguments"]) == {"q": "[EMAIL]"}
    event = await proxied.event(response.headers["x-tappass-audit-id"])
    assert step_result(event, "detect_pii", "after")["verdict"] == "transform"


def test_masking_copies_messages_and_keeps_other_parts() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "mail a@b.io"},
                                     {"type": "image_url", "image_url": {"url": "x"}}]}]
    original = orjson.dumps(messages)
    text = "mail a@b.io"
    masked = mask(text, [Finding("EMAIL", 5, 11)])
    out = rewrite_messages(messages, lambda i, t: masked if i == 1 else t)
    assert out[1]["content"][0]["text"] == "mail [EMAIL]"
    assert out[0] is messages[0] and out[1]["content"][1] is messages[1]["content"][1]
    assert orjson.dumps(messages) == original


async def test_custom_patterns_and_thresholds_from_options() -> None:
    from tappass.pipeline.offline import OfflineRunner
    runner = OfflineRunner(["detect_pii"], options={"detect_pii": {
        "custom_patterns": [{"name": "employee_id", "pattern": r"EMP-\d{6}"}],
        "thresholds": {"email": 0.99}}})
    outcome = await runner.run("ask EMP-123456 at a@b.io")
    assert [(h.type, h.start, h.end) for h in outcome.hits] == [("EMPLOYEE_ID", 4, 14)]
    assert outcome.blocked


def test_bad_options_are_refused_with_their_path() -> None:
    import pytest

    from tappass.errors import ConfigError
    from tappass.pipeline.options import validate_options
    with pytest.raises(ConfigError, match=r"x\.thresholds: threshold for 'EMAIL' must be"):
        validate_options("detect_pii", {"thresholds": {"EMAIL": 2}}, "x")
    with pytest.raises(ConfigError,
                       match=r"x\.entities: unknown PII type .PHONES.; types: EMAIL"):
        validate_options("detect_pii", {"entities": ["PHONES"]}, "x")


async def test_a_place_alone_is_recorded_but_does_not_block(proxied: Gateway) -> None:
    key = await proxied.add_agent("travel", preset="regulated")
    response = await proxied.chat(key, "Recommend three museums in Vienna.", model="gpt-4o")
    assert response.status_code == 200, response.text
    assert "detect_pii=flag" in response.headers["x-tappass-steps"]
    blocked = await proxied.chat(key, "Write to anna.berg@example.com in Vienna.", model="gpt-4o")
    assert blocked.status_code == 403 and blocked.json()["error"]["step"] == "detect_pii"
