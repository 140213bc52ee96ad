"""The seeds' curl commands, run as written (host, port and admin key substituted).

Seed 000 ("Common support scenarios") and 002 ("Client onboarding playbook") are the spec:
these are the exact commands a solutions engineer copies.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("seeds"), args=("--storage", "local")) as g:
        yield g


def sh(gw: Gateway, command: str, cwd: Path | None = None) -> str:
    command = (command.replace("http://localhost:9620", gw.url)
               .replace("tp_admin_...", gw.admin_key).replace("$ADMIN_KEY", gw.admin_key))
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30,
                          cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def chat(gw: Gateway, key: str) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "tappass/echo", "messages": [{"role": "user", "content": "x"}]})


def test_health_shows_healthy_local_storage(gw: Gateway) -> None:
    out = sh(gw, "curl -s http://localhost:9620/health | python3 -m json.tool")
    assert json.loads(out) == {"status": "healthy", "version": "0.5.0", "storage": "local"}


def test_register_an_agent_via_the_admin_api(gw: Gateway) -> None:
    out = sh(gw, """curl -X POST http://localhost:9620/v1/agents \\
  -H "Authorization: Bearer tp_admin_..." \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "finance-bot",
    "preset": "regulated",
    "flags": {"pii": "mask", "email": "block"}
  }'""")
    agent = json.loads(out)
    assert agent["name"] == "finance-bot" and agent["preset"] == "regulated"
    assert agent["flags"] == {"pii": "mask", "email": "block"}
    assert agent["api_key"].startswith("tp_")
    assert chat(gw, agent["api_key"]).status_code == 200


def test_switch_preset(gw: Gateway) -> None:
    sh(gw, """curl -X POST http://localhost:9620/v1/agents -H "Authorization: Bearer tp_admin_..." \\
      -H "Content-Type: application/json" -d '{"name": "preset-bot", "preset": "starter"}'""")
    out = sh(gw, """curl -X PATCH http://localhost:9620/v1/agents/preset-bot \\
  -H "Authorization: Bearer tp_admin_..." \\
  -H "Content-Type: application/json" \\
  -d '{"preset": "regulated"}'""")
    assert json.loads(out)["preset"] == "regulated"


def test_rotate_key_invalidates_the_old_one(gw: Gateway) -> None:
    created = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                         json={"name": "rotate-bot", "preset": "starter"}).json()
    out = sh(gw, """curl -X POST http://localhost:9620/v1/agents/rotate-bot/rotate-key \\
  -H "Authorization: Bearer tp_admin_..." """)
    new_key = json.loads(out)["api_key"]
    assert chat(gw, created["api_key"]).status_code == 401
    assert chat(gw, new_key).status_code == 200


def test_emergency_disable_and_export(gw: Gateway, tmp_path: Path) -> None:
    key = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                     json={"name": "compromised-bot", "preset": "standard"}).json()["api_key"]
    assert chat(gw, key).status_code == 200
    # no Content-Type header, exactly as in the seed
    out = sh(gw, """curl -X PATCH http://localhost:9620/v1/agents/compromised-bot \\
  -H "Authorization: Bearer tp_admin_..." \\
  -d '{"enabled": false}'""")
    assert json.loads(out)["enabled"] is False
    blocked = chat(gw, key)
    assert blocked.status_code == 403
    assert blocked.json()["error"]["step"] == "authentication"
    sh(gw, """curl "http://localhost:9620/v1/audit?agent=compromised-bot&limit=1000" \\
  -H "Authorization: Bearer tp_admin_..." > audit-export.json""", cwd=tmp_path)
    export = json.loads((tmp_path / "audit-export.json").read_text())
    assert [e["status"] for e in export["data"]] == ["blocked", "allowed"]
    assert all(e["agent"] == "compromised-bot" for e in export["data"])


def test_audit_queries(gw: Gateway) -> None:
    key = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                     json={"name": "my-agent", "preset": "starter"}).json()["api_key"]
    for _ in range(3):
        chat(gw, key)
    last50 = json.loads(sh(gw, """curl -H "Authorization: Bearer tp_admin_..." \\
  "http://localhost:9620/v1/audit?agent=my-agent&limit=50" """))
    assert last50["count"] == 3 and {e["agent"] for e in last50["data"]} == {"my-agent"}
    in_range = json.loads(sh(gw, """curl -H "Authorization: Bearer tp_admin_..." \\
  "http://localhost:9620/v1/audit?after=2026-03-01T00:00:00Z&before=2026-03-14T00:00:00Z" """))
    assert in_range["data"] == []  # nothing was recorded in March 2026
    blocked = json.loads(sh(gw, """curl -H "Authorization: Bearer tp_admin_..." \\
  "http://localhost:9620/v1/audit?blocked=true" """))
    assert all(e["blocked"] for e in blocked["data"])
    # the "blocked agent" diagnosis command, unquoted as in the seed (the shell drops &limit)
    unquoted = json.loads(sh(gw, 'curl -H "Authorization: Bearer tp_admin_..." '
                                 'http://localhost:9620/v1/audit?agent=my-agent&limit=10; wait'))
    assert unquoted["count"] == 3


def test_health_detailed(gw: Gateway) -> None:
    out = sh(gw, """curl http://localhost:9620/health/detailed \\
  -H "Authorization: Bearer tp_admin_..." """)
    detail = json.loads(out)
    assert detail["storage"]["kind"] == "local" and detail["storage"]["migrations"]
    assert detail["pipelines"]["regulated"]["total"] == 45
    # every registered step is implemented: no pipeline reports one unavailable
    assert all(p["unavailable"] == [] for p in detail["pipelines"].values())
    assert not any("unavailable" in w for w in detail["warnings"])


def test_ready_and_live(gw: Gateway) -> None:
    assert httpx.get(f"{gw.url}/health/live").json() == {"status": "alive"}
    ready = httpx.get(f"{gw.url}/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["storage"]["status"] == "ok"
