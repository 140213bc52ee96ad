"""Several worker processes: a change made through one is used by the next request in all."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e


def chat(url: str, key: str, content: str = "hi") -> httpx.Response:
    # a new connection per call, so the kernel spreads the calls over the workers
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "tappass/echo",
                            "messages": [{"role": "user", "content": content}]})


def worker_pids(gw: Gateway, attempts: int = 60) -> set[int]:
    """Pids that answered /health/detailed over new connections, until two are seen."""
    pids: set[int] = set()
    for _ in range(attempts):
        detail = httpx.get(f"{gw.url}/health/detailed", headers=gw.admin_headers).json()
        pids.add(detail["pid"])
        if len(pids) == 2:
            break
    return pids


def parent_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def test_changes_reach_every_worker_on_the_next_request(tmp_path: Path) -> None:
    with running_gateway(tmp_path, args=("--storage", "local", "--workers", "2")) as gw:
        pids = worker_pids(gw)
        assert len(pids) == 2  # two worker processes serve, neither is the supervisor
        assert gw.process.pid not in pids
        if Path("/proc").is_dir():
            assert {parent_of(pid) for pid in pids} == {gw.process.pid}
        admin = gw.admin_headers
        old = httpx.post(f"{gw.url}/v1/agents", headers=admin,
                         json={"name": "multi-bot", "preset": "standard"}).json()["api_key"]
        statuses = {chat(gw.url, old).status_code for _ in range(10)}  # warm workers' caches
        assert statuses == {200}
        new = httpx.post(f"{gw.url}/v1/agents/multi-bot/rotate-key",
                         headers=admin).json()["api_key"]
        assert {chat(gw.url, old).status_code for _ in range(20)} == {401}
        assert {chat(gw.url, new).status_code for _ in range(20)} == {200}

        created = httpx.post(f"{gw.url}/admin/pipelines", headers=admin, json={
            "name": "lean", "base": "standard", "disable": ["validate_input"]})
        assert created.status_code == 201
        httpx.patch(f"{gw.url}/v1/agents/multi-bot/pipeline", headers=admin,
                    json={"preset": "lean"})
        results = [chat(gw.url, new, "nul\x00byte") for _ in range(20)]
        assert {r.headers["x-tappass-pipeline"] for r in results} == {"lean"}
        assert {r.status_code for r in results} == {200}

        httpx.put(f"{gw.url}/admin/pipelines/lean", headers=admin,
                  json={"base": "standard"})  # validate_input back on
        assert {chat(gw.url, new, "nul\x00byte").status_code for _ in range(20)} == {403}

        httpx.patch(f"{gw.url}/v1/agents/multi-bot", headers=admin, json={"enabled": False})
        assert {chat(gw.url, new).status_code for _ in range(20)} == {403}
