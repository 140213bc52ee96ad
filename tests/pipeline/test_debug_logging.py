"""debug_logging writes one line of request metadata at debug level, never content or keys."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.conftest import Gateway
from tests.support.gateway import running_gateway

PROMPT = "call me at +1 415 555 0100 or jane.doe@example.com, marker 91c2e7"


def assert_no_content(line: str, key: str) -> None:
    for secret in ("91c2e7", "jane.doe@example.com", "555 0100", key, key[:12]):
        assert secret not in line


async def test_one_debug_line_per_request_with_metadata_only(
        gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    key = await gateway.add_agent("logbot", preset="standard", flags={"pii": "mask"})
    caplog.set_level(logging.DEBUG, logger="tappass")
    response = await gateway.chat(key, PROMPT)
    assert response.status_code == 200
    lines = [r for r in caplog.records if r.name == "tappass.debug"]
    assert len(lines) == 1 and lines[0].levelno == logging.DEBUG
    message = lines[0].getMessage()
    assert f"audit_id={response.headers['x-tappass-audit-id']}" in message
    assert "agent=logbot" in message and "model=tappass/echo" in message
    assert_no_content(message, key)


async def test_nothing_is_logged_above_debug_level(
        gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    key = await gateway.add_agent("quietbot", preset="standard", flags={"pii": "mask"})
    caplog.set_level(logging.INFO, logger="tappass")
    assert (await gateway.chat(key, PROMPT)).status_code == 200
    assert not [r for r in caplog.records if r.name == "tappass.debug"]


@pytest.mark.e2e
def test_the_real_server_writes_the_line_at_tappass_log_level_debug(tmp_path: Path) -> None:
    with running_gateway(tmp_path, env={"TAPPASS_LOG_LEVEL": "debug"}) as gw:
        key = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                         json={"name": "logbot", "preset": "standard",
                               "flags": {"pii": "mask"}}).json()["api_key"]
        response = httpx.post(f"{gw.url}/v1/chat/completions",
                              headers={"Authorization": f"Bearer {key}"},
                              json={"model": "tappass/echo",
                                    "messages": [{"role": "user", "content": PROMPT}]})
        assert response.status_code == 200
        audit_id = response.headers["x-tappass-audit-id"]
        lines = [line for line in gw.log().splitlines() if "tappass.debug" in line]
    assert len(lines) == 1 and " DEBUG tappass.debug: " in lines[0]
    assert f"audit_id={audit_id}" in lines[0]
    assert_no_content(gw.log(), key)
