"""classify_data: levels from findings and custom patterns, and approval by classification."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tappass.policy.classification import highest, level_of
from tests.conftest import ADMIN_HEADERS, Gateway
from tests.seeds import snippet
from tests.support.fake_upstream import FakeUpstream


@pytest.mark.parametrize(("step", "kind", "level"), [
    ("detect_pii", "EMAIL", "CONFIDENTIAL"), ("detect_pii", "IBAN", "RESTRICTED"),
    ("detect_pii", "US_SSN", "RESTRICTED"), ("detect_pii", "LOCATION", "INTERNAL"),
    ("detect_secrets", "AWS_ACCESS_KEY", "RESTRICTED"),
    ("detect_business_data", "SALARY", "CONFIDENTIAL"),
    ("detect_business_data", "BOARD_MATERIAL", "RESTRICTED"),
    ("detect_infrastructure_data", "PRIVATE_IP", "INTERNAL"),
    ("detect_infrastructure_data", "CONNECTION_STRING", "RESTRICTED"),
    ("detect_prompt_injection", "INJECTION", None)])
def test_level_of_a_finding(step: str, kind: str, level: str | None) -> None:
    assert level_of(step, kind) == level


@pytest.mark.parametrize(("levels", "floor", "expected"), [
    ([], "INTERNAL", "INTERNAL"), ([], "PUBLIC", "PUBLIC"),
    (["CONFIDENTIAL", "RESTRICTED"], "INTERNAL", "RESTRICTED"),
    (["INTERNAL"], "CONFIDENTIAL", "CONFIDENTIAL"), (["TOP_SECRET", "PUBLIC"], "PUBLIC",
                                                     "TOP_SECRET")])
def test_highest(levels: list[str], floor: str, expected: str) -> None:
    assert highest(levels, floor) == expected


async def classify(gw: Gateway, key: str, text: str) -> tuple[int, str | None, dict[str, Any]]:
    response = await gw.chat(key, text, model="gpt-4o")
    event = await gw.event(response.headers["x-tappass-audit-id"])
    assert response.headers.get("x-tappass-classification") == event["classification"]
    return response.status_code, event["classification"], event


@pytest.mark.parametrize(("text", "level"), [
    ("What is the capital of France?", "INTERNAL"),
    ("Write to john@example.com about it", "CONFIDENTIAL"),
    ("Pay it to DE89 3704 0044 0532 0130 00 today", "RESTRICTED"),
    ("See PROJ-ABC-1234 before Friday", "CONFIDENTIAL"),          # seed 003 custom pattern
    ("Summarise the board minutes of March", "RESTRICTED")])      # seed 003 custom pattern
async def test_seed_003_patterns_and_findings_classify(proxied: Gateway, text: str,
                                                       level: str) -> None:
    key = await proxied.add_agent("finance-bot", preset="regulated", flags={"pii": "mask"})
    response = await proxied.client.patch("/v1/agents/finance-bot/pipeline",
                                          headers=ADMIN_HEADERS,
                                          json=yaml.safe_load(snippet("classification")))
    assert response.status_code == 200, response.text
    status, classification, _ = await classify(proxied, key, text)
    assert (status, classification) == (200, level)


@pytest.mark.parametrize("name", ["onboarding", "onboarding-nested"])
async def test_seed_002_requires_approval_for_restricted(proxied: Gateway,
                                                         upstream: FakeUpstream,
                                                         name: str) -> None:
    key = await proxied.add_agent("claims", preset="regulated", flags={"pii": "mask"})
    response = await proxied.client.patch("/v1/agents/claims/pipeline", headers=ADMIN_HEADERS,
                                          json=yaml.safe_load(snippet(name)))
    assert response.status_code == 200, response.text
    status, level, _ = await classify(proxied, key, "Client ACC-12345678 asked about fees")
    assert (status, level) == (200, "CONFIDENTIAL")            # seed 002 custom pattern
    calls = len(upstream.requests)
    status, level, event = await classify(proxied, key, "Refund DE89 3704 0044 0532 0130 00")
    assert (status, level) == (403, "RESTRICTED")
    assert event["blocked_by"] == "classify_data" and len(upstream.requests) == calls
    step = next(s for s in event["steps"] if s["step"] == "classify_data")
    assert step["verdict"] == "require_approval"
    assert "human approval is not available" in step["reason"]
    observed = await proxied.chat(key, "Refund DE89 3704 0044 0532 0130 00", model="gpt-4o",
                                  headers={"X-TapPass-Flags": "mode=observe"})
    assert observed.status_code == 200
    assert observed.headers["x-tappass-would-block"].startswith("classify_data:")
