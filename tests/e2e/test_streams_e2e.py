"""Streams against the real gateway process: audited before the first byte, marked
`interrupted` after a kill -9, finished or recorded as `shutdown` on SIGTERM, refused with
no content when the audit store fails."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e

LOCAL = ("--storage", "local")


def _env(upstream: FakeUpstream, **extra: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": UPSTREAM_KEY, **extra}


def _register(gw: Gateway, name: str = "streamer") -> str:
    response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                          json={"name": name, "preset": "starter"})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def _events(gw: Gateway) -> list[dict[str, Any]]:
    response = httpx.get(f"{gw.url}/v1/audit?limit=100", headers=gw.admin_headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _event(gw: Gateway, audit_id: str) -> dict[str, Any]:
    matching = [e for e in _events(gw) if e["id"] == audit_id]
    assert len(matching) == 1, f"expected one event {audit_id}, got {matching}"
    return matching[0]


def _stored(tmp: Path, audit_id: str) -> dict[str, Any]:
    """An event read straight from the SQLite file of a gateway that has stopped."""
    with sqlite3.connect(tmp / "home" / "tappass.db") as db:
        row = db.execute("SELECT body FROM audit_events WHERE id = ?", (audit_id,)).fetchone()
    assert row is not None, f"no audit event {audit_id}"
    return dict(orjson.loads(row[0]))


@pytest.fixture
def stream_request(upstream: FakeUpstream) -> Iterator[Any]:
    clients: list[httpx.Client] = []

    def start(gw: Gateway, key: str) -> Stream:
        client = httpx.Client(timeout=15)
        clients.append(client)
        request = client.build_request(
            "POST", f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={"model": "slow-stream", "stream": True,
                  "messages": [{"role": "user", "content": "hi"}]})
        response = client.send(request, stream=True)
        assert response.status_code == 200, response.read()
        return Stream(response)

    yield start
    for client in clients:
        client.close()


class Stream:
    """A streamed response read event by event (httpx's line iterator can be made once)."""

    def __init__(self, response: httpx.Response) -> None:
        self.headers = response.headers
        self._lines = response.iter_lines()

    def first(self) -> str:
        for line in self._lines:
            if line.startswith("data: "):
                return line
        raise AssertionError("the stream sent no event")

    def rest(self) -> list[str]:
        out: list[str] = []
        try:
            out.extend(line for line in self._lines if line.startswith("data: "))
        except httpx.HTTPError:  # the connection was cut
            pass
        return out


def test_the_open_event_is_durable_before_the_first_byte(
        tmp_path: Path, upstream: FakeUpstream, stream_request: Any) -> None:
    with running_gateway(tmp_path, env=_env(upstream), args=LOCAL) as gw:
        response = stream_request(gw, _register(gw))
        assert response.first().startswith("data: {")
        audit_id = response.headers["x-tappass-audit-id"]
        assert _event(gw, audit_id)["status"] == "open"
        assert response.rest()[-1] == "data: [DONE]"
        event = _event(gw, audit_id)
        assert (event["status"], event["usage"]["total_tokens"]) == ("allowed", 15)


def test_streams_cut_by_kill_9_are_interrupted_after_restart(
        tmp_path: Path, upstream: FakeUpstream, stream_request: Any) -> None:
    with running_gateway(tmp_path, env=_env(upstream), args=LOCAL) as gw:
        key = _register(gw)
        responses = [stream_request(gw, key) for _ in range(3)]
        for response in responses:
            response.first()  # content reached the client
        ids = [r.headers["x-tappass-audit-id"] for r in responses]
        gw.process.kill()
        gw.process.wait()
    with running_gateway(tmp_path, env=_env(upstream), args=LOCAL) as gw:
        events = [_event(gw, audit_id) for audit_id in ids]
    assert [e["status"] for e in events] == ["interrupted"] * 3
    assert all(e["stream"] is True and e["agent"] == "streamer" for e in events)


def test_sigterm_lets_a_stream_in_flight_finish(
        tmp_path: Path, upstream: FakeUpstream, stream_request: Any) -> None:
    with running_gateway(tmp_path, env=_env(upstream, TAPPASS_SHUTDOWN_GRACE="10"),
                         args=LOCAL) as gw:
        response = stream_request(gw, _register(gw))
        response.first()
        audit_id = response.headers["x-tappass-audit-id"]
        gw.process.send_signal(signal.SIGTERM)
        assert response.rest()[-1] == "data: [DONE]"
        assert gw.process.wait(timeout=15) is not None
    assert _stored(tmp_path, audit_id)["status"] == "allowed"


def test_sigterm_past_the_grace_period_records_shutdown(
        tmp_path: Path, upstream: FakeUpstream, stream_request: Any) -> None:
    with running_gateway(tmp_path, env=_env(upstream, TAPPASS_SHUTDOWN_GRACE="0.3"),
                         args=LOCAL) as gw:
        response = stream_request(gw, _register(gw))
        response.first()
        audit_id = response.headers["x-tappass-audit-id"]
        gw.process.send_signal(signal.SIGTERM)
        assert "data: [DONE]" not in response.rest()
        gw.process.wait(timeout=15)
    event = _stored(tmp_path, audit_id)
    assert (event["status"], event["error"]) == (
        "shutdown", "the gateway shut down before the stream ended")


def test_a_failing_audit_store_refuses_streams_with_no_content(
        tmp_path: Path, upstream: FakeUpstream) -> None:
    with running_gateway(tmp_path, env=_env(upstream), args=LOCAL) as gw:
        key = _register(gw)
        db = sqlite3.connect(tmp_path / "home" / "tappass.db")
        db.execute("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        db.commit()
        try:
            response = httpx.post(
                f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                json={"model": "gpt-4o", "stream": True,
                      "messages": [{"role": "user", "content": "hi"}]}, timeout=15)
        finally:
            db.execute("DROP TRIGGER fail_audit")
            db.commit()
            db.close()
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "audit_unavailable"
        assert "upstream says" not in response.text and "tappass.db" not in response.text
        time.sleep(0.05)
        assert httpx.post(
            f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            timeout=15).status_code == 200
