"""Two worker processes on one SQLite file: /metrics adds up both workers' counts (the
Prometheus multiprocess directory under TAPPASS_HOME), /admin/metrics sees every request,
and each worker writes its own audit chain, both of which verify."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tappass.cli.main import cli
from tests.e2e.test_workers import chat, worker_pids
from tests.support.gateway import running_gateway

pytestmark = pytest.mark.e2e
CALLS = 30


def test_two_workers_metrics_add_up_and_both_chains_verify(tmp_path: Path) -> None:
    with running_gateway(tmp_path, args=("--storage", "local", "--workers", "2")) as gw:
        assert len(worker_pids(gw)) == 2
        key = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                         json={"name": "multi", "preset": "starter"}).json()["api_key"]
        assert {chat(gw.url, key).status_code for _ in range(CALLS)} == {200}
        for _ in range(6):  # whichever worker answers, the figures are the gateway's
            text = httpx.get(f"{gw.url}/metrics", headers=gw.admin_headers).text
            found = re.search(r'tappass_requests_total\{agent="multi",preset="starter",'
                              r'status="allowed"\} ([0-9.]+)', text)
            assert found and float(found.group(1)) == CALLS, text[:2000]
            summary = httpx.get(f"{gw.url}/admin/metrics", headers=gw.admin_headers).json()
            assert summary["agents"]["multi"]["requests"] == CALLS
        assert (tmp_path / "home" / "run").is_dir()
        chains: set[str] = set()
        for _ in range(200):   # new connections, spread by the kernel: on a busy machine
            chains.add(httpx.get(f"{gw.url}/health/detailed", headers=gw.admin_headers)
                       .json()["audit"]["chain"]["writer"])   # one worker may take many
            if len(chains) == 2:
                break
    result = CliRunner().invoke(cli, ["audit", "verify", "--json"],
                                env={"TAPPASS_HOME": str(tmp_path / "home")},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert '"ok": true' in result.output
    assert len(chains) == 2 and all(writer in result.output for writer in chains)
