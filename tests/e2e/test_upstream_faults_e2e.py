"""Upstream faults against the real gateway process: a dripping upstream is cut by the whole
call timeout, bad answers are 502 `upstream_invalid`, a 429 keeps its Retry-After, and no
answer shows the upstream's address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gw(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": UPSTREAM_KEY,
           "TAPPASS_UPSTREAM_TIMEOUT": "1", "TAPPASS_UPSTREAM_FIRST_BYTE_TIMEOUT": "1",
           "TAPPASS_UPSTREAM_IDLE_TIMEOUT": "0.5"}
    with running_gateway(tmp_path_factory.mktemp("faults"), env=env) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def key(gw: Gateway) -> str:
    response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                          json={"name": "faulty", "preset": "starter"})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def chat(gw: Gateway, key: str, model: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}],
                            **extra}, timeout=20)


def test_a_dripping_upstream_is_504_within_the_whole_call_timeout(
        gw: Gateway, key: str, upstream: FakeUpstream) -> None:
    response = chat(gw, key, "drip")  # would take about 40 s, one byte every 0.1 s
    assert response.status_code == 504
    assert response.elapsed.total_seconds() < 10
    assert upstream.url.split("//")[1] not in response.text


@pytest.mark.parametrize("model", ["shape-list", "shape-string", "shape-usage"])
def test_answers_of_the_wrong_shape_are_502_upstream_invalid(
        gw: Gateway, key: str, model: str) -> None:
    response = chat(gw, key, model)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid"


def test_an_upstream_429_keeps_its_retry_after(gw: Gateway, key: str) -> None:
    response = chat(gw, key, "rate-limited-retry")
    assert (response.status_code, response.headers.get("retry-after")) == (429, "7")


def test_a_stalled_stream_ends_with_an_error_event_not_done(gw: Gateway, key: str) -> None:
    response = chat(gw, key, "stall-stream", stream=True)
    events = [e for e in response.text.split("\n\n") if e]
    assert events[-1] != "data: [DONE]" and '"upstream_timeout"' in events[-1]


def test_a_refused_connection_names_no_internal_address(tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": UPSTREAM_KEY}
    with running_gateway(tmp_path, env=env) as gw:
        response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                              json={"name": "lost", "preset": "starter"})
        refused = chat(gw, response.json()["api_key"], "gpt-4o")
    assert refused.status_code == 502
    error = refused.json()["error"]
    assert (error["code"], error["retryable"]) == ("upstream_error", True)
    assert "127.0.0.1" not in refused.text and ":9" not in refused.text
