"""Health tells the truth about audit writes, against the real server process.

The audit store fails for real: a trigger on the gateway's own SQLite file makes every
audit insert fail the way a full disk does ("database or disk is full"), from outside the
process, while the gateway keeps running.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tappass.cli import status
from tappass.cli._client import AdminClient
from tappass.storage.sqlite import SqliteStore
from tests.support.fake_upstream import free_port
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e

FAIL_AUDIT = ("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN "
              "SELECT RAISE(ABORT, 'database or disk is full'); END")
PROMPT = "quarterly numbers for jane.doe@example.com, marker 7f3a9c"


def run_sql(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def chat(gw: Gateway, key: str) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "tappass/echo",
                            "messages": [{"role": "user", "content": PROMPT}]})


def add_agent(gw: Gateway, name: str) -> str:
    response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                          json={"name": name, "preset": "standard", "flags": {"pii": "mask"}})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def test_failing_audit_writes_make_health_fail_and_it_recovers_without_traffic(
        tmp_path: Path) -> None:
    with running_gateway(tmp_path, args=("--storage", "local")) as gw:
        key = add_agent(gw, "health-bot")
        assert chat(gw, key).status_code == 200
        run_sql(tmp_path / "home" / "tappass.db", FAIL_AUDIT)

        refused = chat(gw, key)
        assert refused.status_code == 503
        assert "7f3a9c" not in refused.text and "choices" not in refused.json()

        ready = httpx.get(f"{gw.url}/health/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        audit_writer = ready.json()["checks"]["audit_writer"]
        assert audit_writer["status"] == "fail"
        assert "audit writes failing since" in audit_writer["error"]
        assert "disk is full" not in audit_writer["error"]   # the error itself is admin-only
        assert ready.json()["checks"]["storage"]["status"] == "ok"  # reads still work

        health = httpx.get(f"{gw.url}/health")
        assert health.status_code == 503
        body = health.json()
        assert (body["status"], body["storage"], body["version"]) == \
            ("unhealthy", "local", "0.5.0")
        assert "audit writes failing" in body["audit"]

        assert httpx.get(f"{gw.url}/health/detailed").status_code == 401
        detailed = httpx.get(f"{gw.url}/health/detailed", headers=gw.admin_headers).json()
        assert detailed["status"] == "unhealthy"
        audit = detailed["audit"]
        assert audit["status"] == "failing" and audit["failing_since"]
        assert "database or disk is full" in audit["last_error"]
        assert audit["failed"] >= 1 and audit["failed_attempts"] >= 1

        checks = {c.label: c for c in status.run_checks(AdminClient(gw.url, gw.admin_key))}
        assert checks["server"].state == "fail" and "audit writes are failing" in \
            checks["server"].detail
        assert checks["database"].state == "fail"
        assert "database or disk is full" in checks["database"].detail
        assert checks["database"].fix == status.AUDIT_FIX

        run_sql(tmp_path / "home" / "tappass.db", "DROP TRIGGER fail_audit")
        recovered_in = wait_ready(gw.url, timeout=3.0)   # no chat request in between
        assert recovered_in < 3.0
        assert httpx.get(f"{gw.url}/health").json() == \
            {"status": "healthy", "version": "0.5.0", "storage": "local"}
        detailed = httpx.get(f"{gw.url}/health/detailed", headers=gw.admin_headers).json()
        assert detailed["audit"]["status"] == "ok" and detailed["audit"]["last_success_at"]
        assert detailed["audit"]["written"] == 1   # the probe wrote no audit event
        assert chat(gw, key).status_code == 200
        assert "7f3a9c" not in gw.log() and key not in gw.log()


def wait_ready(url: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if httpx.get(f"{url}/health/ready").status_code == 200:
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"/health/ready did not recover within {timeout} s")


def start_up(tmp_path: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAPPASS_", "OPENAI_"))}
    env.update({"TAPPASS_HOME": str(home), "TAPPASS_ADMIN_API_KEY": "tp_admin_e2e-refusal"})
    return subprocess.run(
        [sys.executable, "-m", "tappass", "up", "--port", str(free_port()), "--storage",
         "local"], env=env, capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL, cwd=tmp_path)


def refusal_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_start_up_refuses_a_home_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")   # stops root too, unlike a chmod
    line = refusal_line(start_up(tmp_path, blocker / "home"))
    assert str(blocker / "home") in line and "set TAPPASS_HOME" in line
    assert "remove or rename that file" in line


async def test_start_up_refuses_a_database_that_cannot_take_audit_writes(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = SqliteStore(home / "tappass.db")   # an existing, migrated database ...
    await store.open()
    await store.close()
    run_sql(home / "tappass.db", FAIL_AUDIT)     # ... whose audit inserts fail as on a full disk
    line = refusal_line(start_up(tmp_path, home))
    assert line.startswith(f"Error: storage (local): the disk holding {home / 'tappass.db'} "
                           "is full")
    assert "free space there, or set TAPPASS_HOME" in line
