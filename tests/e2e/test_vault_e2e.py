"""The vault in real gateway processes: `tappass vault set` changes the provider key used by
the next request, in every worker, without a restart; a wrong vault key stops the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tappass.cli.main import cli
from tappass.vault.cipher import new_key
from tests.support.fake_providers import provider_env
from tests.support.fake_upstream import FakeUpstream, free_port
from tests.support.gateway import ADMIN_KEY, Gateway, running_gateway

pytestmark = pytest.mark.e2e

ENV_KEY, VAULT_KEY_VALUE = "sk-ant-from-env", "sk-ant-from-vault"


def vault_cli(gw: Gateway, *args: str) -> str:
    result = CliRunner().invoke(cli, ["vault", *args], env={
        "TAPPASS_URL": gw.url, "TAPPASS_ADMIN_API_KEY": ADMIN_KEY,
        "TAPPASS_HOME": str(gw.log_path.parent / "cli-home")})
    assert result.exit_code == 0, result.output
    return result.output


def keys_used(gw: Gateway, upstream: FakeUpstream, agent_key: str, n: int) -> set[str]:
    used = set()
    for _ in range(n):
        response = httpx.post(f"{gw.url}/v1/chat/completions", timeout=10,
                              headers={"Authorization": f"Bearer {agent_key}"},
                              json={"model": "claude-3-5-haiku-latest",
                                    "messages": [{"role": "user", "content": "Hi"}]})
        assert response.status_code == 200, response.text
        used.add(upstream.requests[-1]["headers"]["x-api-key"])
    return used


def test_vault_set_is_used_by_the_next_request_in_every_worker(
        upstream: FakeUpstream, tmp_path: Path) -> None:
    upstream.anthropic_keys |= {ENV_KEY, VAULT_KEY_VALUE}
    vault_key = new_key()
    env = {**provider_env(upstream.url), "ANTHROPIC_API_KEY": ENV_KEY,
           "TAPPASS_VAULT_KEY": vault_key}
    with running_gateway(tmp_path, env=env, args=("--storage", "local", "--workers", "2")) as gw:
        created = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                             json={"name": "vault-user", "preset": "starter"})
        agent_key = created.json()["api_key"]
        assert keys_used(gw, upstream, agent_key, 3) == {ENV_KEY}
        vault_cli(gw, "set", f"ANTHROPIC_API_KEY={VAULT_KEY_VALUE}")
        assert keys_used(gw, upstream, agent_key, 6) == {VAULT_KEY_VALUE}
        listed = vault_cli(gw, "list")
        assert "ANTHROPIC_API_KEY" in listed and VAULT_KEY_VALUE not in listed
        vault_cli(gw, "delete", "ANTHROPIC_API_KEY")
        assert keys_used(gw, upstream, agent_key, 6) == {ENV_KEY}
        vault_cli(gw, "set", f"ANTHROPIC_API_KEY={VAULT_KEY_VALUE}")
        assert VAULT_KEY_VALUE not in gw.log()
    started = subprocess.run(
        [sys.executable, "-m", "tappass", "up", "--port", str(free_port()), "--storage", "local"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("TAPPASS_")},
             "TAPPASS_HOME": str(tmp_path / "home"), "TAPPASS_ADMIN_API_KEY": ADMIN_KEY,
             "TAPPASS_VAULT_KEY": new_key()},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert started.returncode == 1
    assert "TAPPASS_VAULT_KEY is not the key the vault's secrets are stored under" in \
        started.stderr
