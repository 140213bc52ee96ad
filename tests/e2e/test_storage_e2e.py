"""The gateway keeps agents, keys and the audit trail across restarts (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e


def register_and_call(gw: Gateway, name: str) -> tuple[str, str]:
    key = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                     json={"name": name, "preset": "standard"}).json()["api_key"]
    response = httpx.post(f"{gw.url}/v1/chat/completions",
                          headers={"Authorization": f"Bearer {key}"},
                          json={"model": "tappass/echo",
                                "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200
    return key, response.headers["x-tappass-audit-id"]


def audit_ids(gw: Gateway, agent: str) -> list[str]:
    response = httpx.get(f"{gw.url}/v1/audit", params={"agent": agent}, headers=gw.admin_headers)
    return [e["id"] for e in response.json()["data"]]


def test_sqlite_keeps_everything_across_a_restart(tmp_path: Path) -> None:
    with running_gateway(tmp_path, args=("--storage", "local")) as gw:
        key, audit_id = register_and_call(gw, "durable-bot")
    assert (tmp_path / "home" / "tappass.db").exists()
    with running_gateway(tmp_path, args=("--storage", "local")) as gw:
        assert audit_ids(gw, "durable-bot") == [audit_id]
        again = httpx.post(f"{gw.url}/v1/chat/completions",
                           headers={"Authorization": f"Bearer {key}"},
                           json={"model": "tappass/echo",
                                 "messages": [{"role": "user", "content": "hi"}]})
        assert again.status_code == 200


def test_generated_admin_key_is_shown_once_and_saved_for_the_cli(tmp_path: Path) -> None:
    with running_gateway(tmp_path, args=("--storage", "local"), admin_key=None) as gw:
        config = json.loads((tmp_path / "home" / "cli.json").read_text())
        key = config["admin_key"]
        assert key.startswith("tp_admin_") and gw.log().count(key) == 1
        assert (tmp_path / "home" / "cli.json").stat().st_mode & 0o077 == 0
        assert httpx.get(f"{gw.url}/v1/agents",
                         headers={"Authorization": f"Bearer {key}"}).status_code == 200
    db = (tmp_path / "home" / "tappass.db").read_bytes()
    assert key.encode() not in db  # only its hash is stored
    with running_gateway(tmp_path, args=("--storage", "local"), admin_key=None) as gw:
        assert "tp_admin_" not in gw.log()  # not generated (nor shown) a second time
        assert httpx.get(f"{gw.url}/v1/agents",
                         headers={"Authorization": f"Bearer {key}"}).status_code == 200


@pytest.mark.postgres
def test_postgres_storage_end_to_end(tmp_path: Path, postgres_database: str) -> None:
    env = {"TAPPASS_DATABASE_URL": postgres_database}
    with running_gateway(tmp_path, env=env, args=()) as gw:
        assert httpx.get(f"{gw.url}/health").json()["storage"] == "postgres"
        key, audit_id = register_and_call(gw, "pg-bot")
    with running_gateway(tmp_path, env=env, args=()) as gw:
        assert audit_ids(gw, "pg-bot") == [audit_id]
