"""Classification and would-block reasons from steps reach headers, bodies and the audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.conftest import ADMIN_HEADERS, Gateway
from tests.support.steps import BlockPath, Classify, implemented


@pytest.fixture
def classifying() -> Iterator[None]:
    with implemented("classify_data", Classify), implemented("detect_secrets", BlockPath):
        yield  # before the gateway compiles its pipelines


async def last_event(gw: Gateway) -> dict[str, Any]:
    response = await gw.client.get("/v1/audit?limit=1", headers=ADMIN_HEADERS)
    return dict(response.json()["data"][0])


async def test_classification_and_an_encoded_would_block_reason(classifying: None,
                                                                gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard", flags={"mode": "observe"})
    response = await gateway.chat(key)
    assert response.status_code == 200
    assert response.headers["x-tappass-classification"] == "CONFIDENTIAL"
    reason = "detect_secrets:asked%20for%20%2Fetc%2Fpasswd"
    assert response.headers["x-tappass-would-block"] == f"{reason}, {reason}"  # before, after
    assert (await last_event(gateway))["classification"] == "CONFIDENTIAL"


@pytest.fixture
def classifying_then_blocking_the_answer() -> Iterator[None]:
    with implemented("classify_data", Classify), implemented("output_scan", BlockPath):
        yield


async def test_a_block_carries_the_classification(classifying_then_blocking_the_answer: None,
                                                  gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard")
    response = await gateway.chat(key)
    assert response.status_code == 403
    assert response.json()["error"]["classification"] == "CONFIDENTIAL"
    assert response.json()["error"]["step"] == "output_scan"
    assert response.headers["x-tappass-classification"] == "CONFIDENTIAL"


async def test_a_block_mid_stream_carries_the_classification(
        classifying_then_blocking_the_answer: None, gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard")
    response = await gateway.chat(key, stream=True)
    last = [e for e in response.text.split("\n\n") if e][-1]
    error = orjson.loads(last.removeprefix("data: "))["error"]
    assert (error["step"], error["classification"]) == ("output_scan", "CONFIDENTIAL")
