"""Two gateway workers sharing Redis: budgets and rate limits hold exactly across them, and
a Redis outage degrades to per-worker state, then recovers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.support.fake_upstream import UPSTREAM_KEY, running_upstream
from tests.support.gateway import Gateway, running_gateway
from tests.support.redis import (
    delete_prefix,
    keys_under,
    private_redis,
    redis_url,
    start_redis,
    unique_prefix,
)

pytestmark = pytest.mark.e2e

PROMPT = "what is the weather like in paris???"   # 36 chars: estimated as the fake's 10 tokens
CALL_UNITS = 75_000                              # gpt-4o, 10 + 5 tokens: $0.000075 in nano-USD


def _agent(gw: Gateway, name: str, **fields: Any) -> str:
    response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                          json={"name": name, "preset": "standard", **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


async def _burst(url: str, key: str, n: int) -> list[httpx.Response]:
    """n requests at once, each on its own connection (the kernel spreads them over workers)."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        return list(await asyncio.gather(*(client.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}", "X-Session-Id": "sess-1"},
            json={"model": "gpt-4o", "max_tokens": 5,
                  "messages": [{"role": "user", "content": PROMPT}]}) for _ in range(n))))


async def test_two_workers_share_budget_and_rate_limit_exactly(tmp_path: Path) -> None:
    url, prefix = redis_url(), unique_prefix()
    env = {"TAPPASS_KV_URL": url, "TAPPASS_KV_PREFIX": prefix}
    try:
        with running_upstream() as upstream, running_gateway(
                tmp_path, env={**env, "OPENAI_BASE_URL": upstream.url,
                               "OPENAI_API_KEY": UPSTREAM_KEY},
                args=("--storage", "local", "--workers", "2")) as gw:
            # session budget: 20 calls' worth ($0.0015) under 50 concurrent calls
            budget_key = _agent(gw, "budget-bot", flags={"budget": "custom:1:0.0015"})
            responses = await _burst(gw.url, budget_key, 50)
            codes = [r.status_code for r in responses]
            assert codes.count(200) == 20, codes
            assert {r.json()["error"]["step"] for r in responses if r.status_code != 200} == {
                "budget_enforcement"}
            spent = keys_under(url, prefix)["s:budget-bot:sess-1:spend"]
            assert int(spent) == 20 * CALL_UNITS          # settled: exactly the real cost

            # rate limit: 20 a minute (one more token every 3 s) under 50 concurrent calls
            rate_key = _agent(gw, "rate-bot")
            patched = httpx.patch(f"{gw.url}/v1/agents/rate-bot/pipeline",
                                  headers=gw.admin_headers, json={"overrides": {"steps": {
                                      "rate_limit": {"options": {"requests_per_minute": 20}}}}})
            assert patched.status_code == 200, patched.text
            start = time.monotonic()
            responses = await _burst(gw.url, rate_key, 50)
            refilled = int((time.monotonic() - start) / 3)
            allowed = [r.status_code for r in responses].count(200)
            assert 20 <= allowed <= 20 + refilled, (allowed, refilled)
            assert all(r.status_code == 429 for r in responses if r.status_code != 200)
    finally:
        delete_prefix(url, prefix)


def _ready(gw: Gateway) -> dict[str, Any]:
    return dict(httpx.get(f"{gw.url}/health/ready", timeout=5).json())


def _chat(gw: Gateway, key: str) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "tappass/echo",
                            "messages": [{"role": "user", "content": "hi"}]})


def _until_ready(gw: Gateway) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = _ready(gw)
        if body["status"] == "ready":
            return body
        time.sleep(0.1)
    raise AssertionError(f"not ready again: {body}")


def test_redis_down_degrades_to_worker_state_and_recovers(tmp_path: Path) -> None:
    with private_redis(tmp_path) as (url, process):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        env = {"TAPPASS_KV_URL": url, "TAPPASS_KV_RETRY_SECONDS": "0.2"}
        with running_gateway(tmp_path, env=env, args=("--storage", "local")) as gw:
            key = _agent(gw, "bot")
            assert _ready(gw)["checks"]["kv"]["status"] == "ok"

            process.terminate()
            process.wait(timeout=10)
            assert [_chat(gw, key).status_code for _ in range(5)] == [200] * 5
            body = _ready(gw)
            assert body["status"] == "degraded"
            assert f"Redis at redis://127.0.0.1:{port}/0 is unreachable" in \
                body["checks"]["kv"]["error"]

            restarted = start_redis("redis-server", port, tmp_path)
            try:
                assert _until_ready(gw)["checks"]["kv"]["status"] == "ok"
                assert _chat(gw, key).status_code == 200
                client = redis.Redis(port=port)
                assert client.keys("tappass:*"), "the gateway is not using Redis again"
                client.close()
            finally:
                restarted.terminate()
                restarted.wait(timeout=10)
            log = gw.log()
            assert log.count("is unreachable") == 1, log
            assert log.count("answers again") == 1, log
