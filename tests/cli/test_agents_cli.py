"""`tappass agents ...` against a real gateway: each command's effect is checked through the
admin API, and printed keys are checked by making chat calls with them."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tappass.cli import config
from tests.cli.conftest import Run
from tests.support.fake_upstream import free_port
from tests.support.gateway import Gateway

KEY_RE = re.compile(r"^\s+(tp_[A-Za-z0-9_-]{20,})$", re.MULTILINE)

Chat = Callable[..., httpx.Response]
NewAgent = Callable[..., tuple[str, str]]
UniqueName = Callable[[str], str]


def printed_key(output: str) -> str:
    keys = KEY_RE.findall(output)
    assert len(keys) == 1, output
    return keys[0]


def test_add_prints_a_key_that_authenticates(run: Run, admin: httpx.Client, chat: Chat,
                                             unique_name: UniqueName) -> None:
    name = unique_name("finance")
    result = run("agents", "add", name, "--preset", "starter", "--flags", "pii=mask,email=block")
    assert result.exit_code == 0, result.output
    assert "shown only once" in result.output
    assert "not over email" in result.output
    agent = admin.get(f"/v1/agents/{name}").json()
    assert (agent["preset"], agent["flags"]) == ("starter", {"pii": "mask", "email": "block"})
    response = chat(printed_key(result.output), "ping")
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "ping"


@pytest.mark.parametrize(("line", "name", "preset", "flags"), [
    ('tappass agents add finance-bot --preset=regulated --flags="pii=mask,email=block"',
     "finance-bot", "regulated", {"pii": "mask", "email": "block"}),
    ('tappass agents add --name "research-bot" --preset standard',
     "research-bot", "standard", {}),
])
def test_seed_command_forms(run: Run, admin: httpx.Client, line: str, name: str, preset: str,
                            flags: dict[str, str]) -> None:
    result = run(*shlex.split(line)[1:])
    assert result.exit_code == 0, result.output
    agent = admin.get(f"/v1/agents/{name}").json()
    assert (agent["name"], agent["preset"], agent["flags"]) == (name, preset, flags)


def test_preset_defaults_to_the_gateways(run: Run, admin: httpx.Client,
                                         unique_name: UniqueName) -> None:
    name = unique_name("plain")
    assert run("agents", "add", name).exit_code == 0
    assert admin.get(f"/v1/agents/{name}").json()["preset"] == "standard"


@pytest.mark.parametrize(("args", "message"), [
    ((), "missing the agent name"),
    (("one", "--name", "two"), "give the agent name once"),
])
def test_add_needs_exactly_one_name(run: Run, args: tuple[str, ...], message: str) -> None:
    result = run("agents", "add", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_bad_flag_is_named_and_nothing_is_created(run: Run, admin: httpx.Client,
                                                  unique_name: UniqueName) -> None:
    name = unique_name("flagged")
    result = run("agents", "add", name, "--flags", "pii=mask,pii_level=high")
    assert result.exit_code == 2
    assert "--flags" in result.output and "'pii_level'" in result.output
    result = run("agents", "add", name, "--flags", "pii=sometimes")
    assert "'sometimes'" in result.output and "'pii'" in result.output
    assert admin.get(f"/v1/agents/{name}").status_code == 404


def test_server_errors_are_shown(run: Run, new_agent: NewAgent) -> None:
    name, _ = new_agent()
    result = run("agents", "add", name)
    assert result.exit_code == 1
    assert f"agent '{name}' already exists" in result.output
    result = run("agents", "add", "x-bot", "--preset", "deluxe")
    assert result.exit_code == 1
    assert "unknown preset 'deluxe'" in result.output


def test_add_json_prints_the_raw_response(run: Run, chat: Chat,
                                          unique_name: UniqueName) -> None:
    name = unique_name("json")
    result = run("agents", "add", name, "--json")
    data = json.loads(result.stdout)
    assert data["name"] == name
    assert chat(data["api_key"]).status_code == 200


def test_list_and_show(run: Run, new_agent: NewAgent) -> None:
    name, key = new_agent("listed", preset="regulated", flags={"mode": "observe"})
    result = run("agents", "list")
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if line.startswith(name))
    assert row.split()[1].startswith("ag_")
    assert row.split()[2:5] == ["regulated", "yes", "mode=observe"]
    listed = json.loads(run("agents", "list", "--json").stdout)
    assert name in [agent["name"] for agent in listed["data"]]
    shown = run("agents", "show", name).output
    assert "regulated" in shown and "mode=observe" in shown and key[:12] in shown
    assert key not in shown
    assert json.loads(run("agents", "show", name, "--json").stdout)["name"] == name


def test_disable_blocks_the_agent_and_enable_restores_it(run: Run, admin: httpx.Client,
                                                         chat: Chat,
                                                         new_agent: NewAgent) -> None:
    name, key = new_agent()
    result = run("agents", "disable", name)
    assert result.exit_code == 0 and "disabled" in result.output
    assert admin.get(f"/v1/agents/{name}").json()["enabled"] is False
    blocked = chat(key)
    assert blocked.status_code == 403
    assert blocked.json()["error"]["blocked_by"] == "authentication"
    assert run("agents", "enable", name).exit_code == 0
    assert admin.get(f"/v1/agents/{name}").json()["enabled"] is True
    assert chat(key).status_code == 200


def test_rotate_key_invalidates_the_old_key(run: Run, chat: Chat,
                                            new_agent: NewAgent) -> None:
    name, old_key = new_agent()
    result = run("agents", "rotate-key", name)
    assert result.exit_code == 0
    assert "old key stopped working" in result.output
    new_key = printed_key(result.output)
    assert chat(old_key).status_code == 401
    assert chat(new_key).status_code == 200


def test_set_preset(run: Run, admin: httpx.Client, new_agent: NewAgent) -> None:
    name, _ = new_agent(preset="starter")
    assert run("agents", "set-preset", name, "regulated").exit_code == 0
    assert admin.get(f"/v1/agents/{name}").json()["preset"] == "regulated"


def test_delete_needs_confirmation(run: Run, admin: httpx.Client, new_agent: NewAgent,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    name, _ = new_agent()
    result = run("agents", "delete", name)  # CliRunner's stdin is not a terminal
    assert result.exit_code == 1 and "--yes" in result.output
    monkeypatch.setattr("tappass.cli.agents._stdin_interactive", lambda: True)
    assert run("agents", "delete", name, input="n\n").exit_code == 1
    assert admin.get(f"/v1/agents/{name}").status_code == 200
    assert run("agents", "delete", name, input="y\n").exit_code == 0
    assert admin.get(f"/v1/agents/{name}").status_code == 404


def test_delete_yes(run: Run, admin: httpx.Client, new_agent: NewAgent) -> None:
    name, _ = new_agent()
    assert run("agents", "delete", name, "--yes").exit_code == 0
    assert admin.get(f"/v1/agents/{name}").status_code == 404
    result = run("agents", "show", name)
    assert result.exit_code == 1 and f"agent '{name}' not found" in result.output


def test_unreachable_gateway_says_what_to_do(run: Run) -> None:
    result = run("agents", "list", env={"TAPPASS_URL": f"http://127.0.0.1:{free_port()}"})
    assert result.exit_code == 1
    assert "cannot reach the gateway at http://127.0.0.1:" in result.output
    assert "`tappass up`" in result.output and "TAPPASS_URL" in result.output


def test_wrong_or_missing_admin_key_says_what_to_do(run: Run) -> None:
    result = run("agents", "list", env={"TAPPASS_ADMIN_API_KEY": "tp_admin_wrong"})
    assert result.exit_code == 1
    assert "the admin key from TAPPASS_ADMIN_API_KEY was rejected" in result.output
    assert "export TAPPASS_ADMIN_API_KEY=" in result.output
    assert "tp_admin_wrong" not in result.output
    result = run("agents", "list", env={"TAPPASS_ADMIN_API_KEY": None})
    assert result.exit_code == 1
    assert "no admin key found (TAPPASS_ADMIN_API_KEY is not set in this shell, and " \
        in result.output and "cli.json does not exist" in result.output


def test_the_environment_key_wins_over_cli_json(run: Run, gateway: Gateway, tmp_path: Path,
                                               new_agent: NewAgent) -> None:
    name, _ = new_agent()
    home = tmp_path / "saved"
    config.save(home, url=gateway.url, admin_key="tp_admin_stale")
    result = run("agents", "list", env={"TAPPASS_HOME": str(home)})
    assert result.exit_code == 0 and name in result.output
    stale = run("agents", "list", env={"TAPPASS_HOME": str(home),
                                       "TAPPASS_ADMIN_API_KEY": None})
    assert f"the admin key from {home / 'cli.json'} was rejected" in stale.output


def test_no_key_after_a_gateway_started_with_the_environment_key(run: Run, gateway: Gateway,
                                                                 tmp_path: Path) -> None:
    home = tmp_path / "home"
    config.save(home, url=gateway.url, gateway_key_from_env=True)
    result = run("agents", "list", env={"TAPPASS_HOME": str(home),
                                        "TAPPASS_ADMIN_API_KEY": None})
    assert result.exit_code == 1
    assert "holds no key because the gateway was started with TAPPASS_ADMIN_API_KEY set" \
        in result.output


def test_agent_commands_take_the_id(run: Run, admin: httpx.Client, chat: Chat,
                                    new_agent: NewAgent) -> None:
    name, key = new_agent()
    agent_id = admin.get(f"/v1/agents/{name}").json()["id"]
    assert name in run("agents", "show", agent_id).output
    result = run("agents", "disable", agent_id)
    assert result.exit_code == 0, result.output
    assert f"Agent {name} disabled" in result.output
    assert chat(key).status_code == 403
    assert run("agents", "enable", agent_id).exit_code == 0
    assert chat(key).status_code == 200
    assert f"Agent {name} now uses the regulated" in \
        run("agents", "set-preset", agent_id, "regulated").output
    new_key = printed_key(run("agents", "rotate-key", agent_id).output)
    assert chat(new_key).status_code == 200 and chat(key).status_code == 401
    result = run("agents", "delete", agent_id, "--yes")
    assert result.exit_code == 0 and f"Agent {name} deleted." in result.output
    assert admin.get(f"/v1/agents/{name}").status_code == 404
    missing = run("agents", "show", agent_id)
    assert missing.exit_code == 1 and "not found (by name or id)" in missing.output


def test_url_and_key_come_from_cli_json(run: Run, gateway: Gateway, tmp_path: Path,
                                        new_agent: NewAgent) -> None:
    name, _ = new_agent()
    home = tmp_path / "saved"
    config.save(home, url=gateway.url, admin_key=gateway.admin_key)
    result = run("agents", "list", env={"TAPPASS_URL": None, "TAPPASS_ADMIN_API_KEY": None,
                                        "TAPPASS_HOME": str(home)})
    assert result.exit_code == 0 and name in result.output


def test_add_warns_about_flags_no_implemented_step_acts_on(run: Run,
                                                           unique_name: UniqueName) -> None:
    result = run("agents", "add", unique_name("flagged"), "--flags", "pii=tokenize,email=block")
    assert result.exit_code == 0, result.output
    assert "flags.pii" not in result.output   # pii_tokenization and pii_restore act on it
    assert "flags.email" not in result.output  # tool_constraints applies the email flag
    masked = run("agents", "add", unique_name("masked"), "--flags", "pii=mask")
    assert masked.exit_code == 0 and "flags.pii" not in masked.output  # detect_pii acts on it
