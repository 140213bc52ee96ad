"""`tappass agents` options and commands for what requests may change (locked and
loosenable flags), and `tappass logs` showing a request's loosened flags; against a real
gateway, each effect checked with chat calls."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from tests.cli.conftest import Run

Chat = Callable[..., httpx.Response]
NewAgent = Callable[..., tuple[str, str]]


def test_add_with_lock_and_allow_loosening(run: Run, admin: httpx.Client,
                                           unique_name: Callable[[str], str]) -> None:
    name = unique_name("policy")
    result = run("agents", "add", name, "--lock", "mode", "--allow-loosening", "budget",
                 "--allow-loosening", "pii")
    assert result.exit_code == 0, result.output
    agent = admin.get(f"/v1/agents/{name}").json()
    assert (agent["locked_flags"], agent["loosenable_flags"]) == (["mode"], ["budget", "pii"])
    shown = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1)
                 for line in run("agents", "show", name).output.splitlines() if line.strip())
    assert (shown["locked flags"], shown["loosenable flags"]) == ("mode", "budget, pii")


def test_allow_and_forbid_loosening(run: Run, admin: httpx.Client, chat: Chat,
                                    new_agent: NewAgent) -> None:
    name, key = new_agent(preset="standard", loosenable_flags=["email"])
    assert chat(key, flags="mode=off").status_code == 403
    result = run("agents", "allow-loosening", name, "mode", "budget")
    assert result.exit_code == 0, result.output
    assert "may now loosen budget, email, mode" in result.output
    assert f"tappass agents forbid-loosening {name} mode budget" in result.output
    assert admin.get(f"/v1/agents/{name}").json()["loosenable_flags"] == [
        "budget", "email", "mode"]
    assert chat(key, flags="mode=off").status_code == 200
    result = run("agents", "forbid-loosening", name, "mode")
    assert result.exit_code == 0, result.output
    assert admin.get(f"/v1/agents/{name}").json()["loosenable_flags"] == ["budget", "email"]
    refused = chat(key, flags="mode=off")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "flag_locked"


def test_lock_and_unlock_flag(run: Run, admin: httpx.Client, chat: Chat,
                              new_agent: NewAgent) -> None:
    name, key = new_agent(preset="standard")
    assert chat(key, flags="mode=observe").status_code == 200
    result = run("agents", "lock-flag", name, "mode")
    assert result.exit_code == 0 and "locked flags mode" in result.output
    assert admin.get(f"/v1/agents/{name}").json()["locked_flags"] == ["mode"]
    assert chat(key, flags="mode=observe").status_code == 403
    assert run("agents", "unlock-flag", name, "mode").exit_code == 0
    assert admin.get(f"/v1/agents/{name}").json()["locked_flags"] == []
    assert chat(key, flags="mode=observe").status_code == 200


def test_a_bad_flag_name_is_refused_before_any_request(run: Run, admin: httpx.Client,
                                                       new_agent: NewAgent) -> None:
    name, _ = new_agent()
    result = run("agents", "allow-loosening", name, "colour")
    assert result.exit_code == 2
    assert "'colour'" in result.output and "mode" in result.output
    assert admin.get(f"/v1/agents/{name}").json()["loosenable_flags"] == []


def test_logs_show_the_flags_a_request_loosened(run: Run, chat: Chat,
                                                new_agent: NewAgent) -> None:
    name, key = new_agent(preset="standard")
    assert chat(key, flags="mode=observe").status_code == 200
    output = run("logs", "--agent", name, "--limit", "1").output
    assert "loosened by request: mode" in output
    assert chat(key, flags="mode=enforce").status_code == 200
    assert "loosened by request" not in run("logs", "--agent", name, "--limit", "1").output
