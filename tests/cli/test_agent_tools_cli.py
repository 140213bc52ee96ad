"""`tappass agents tools | allow-tool | deny-tool | remove-tool | reset-tool-pins` against a
real gateway, each effect checked through the admin API and the decision API."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from tests.cli.conftest import Run
from tests.support.gateway import Gateway

NewAgent = Callable[..., tuple[str, str]]


def govern(gateway: Gateway, key: str, name: str) -> dict[str, object]:
    response = httpx.post(f"{gateway.url}/v1/tools/govern", timeout=10,
                          headers={"Authorization": f"Bearer {key}"},
                          json={"name": name, "arguments": {}})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_allow_deny_remove_and_show(run: Run, admin: httpx.Client, gateway: Gateway,
                                    new_agent: NewAgent) -> None:
    name, key = new_agent(preset="standard")
    result = run("agents", "allow-tool", name, "gmail_*", "calendar_read")
    assert result.exit_code == 0, result.output
    assert f"Agent {name}: allowed tools gmail_*, calendar_read." in result.output
    assert run("agents", "deny-tool", name, "gmail_delete*").exit_code == 0
    assert admin.get(f"/v1/agents/{name}/tools").json()["tools"] == {
        "allow": ["gmail_*", "calendar_read"], "deny": ["gmail_delete*"]}
    assert govern(gateway, key, "gmail_search")["allowed"] is True
    refused = govern(gateway, key, "gmail_delete_all")
    assert (refused["allowed"], refused["step"]) == (False, "tool_permissions")
    assert govern(gateway, key, "slack_post")["allowed"] is False

    shown = run("agents", "tools", name).output
    assert re.search(r"^allowed tools\s+gmail_\*, calendar_read\s*$", shown, re.MULTILINE)
    assert re.search(r"^denied tools\s+gmail_delete\*\s*$", shown, re.MULTILINE)
    assert run("agents", "remove-tool", name, "gmail_delete*", "calendar_read").exit_code == 0
    assert admin.get(f"/v1/agents/{name}/tools").json()["tools"] == {
        "allow": ["gmail_*"], "deny": []}
    assert govern(gateway, key, "gmail_delete_all")["allowed"] is True


def test_a_bad_glob_is_refused_with_its_position(run: Run, new_agent: NewAgent) -> None:
    name, _ = new_agent(preset="standard")
    result = run("agents", "deny-tool", name, "rm -rf")
    assert result.exit_code != 0
    assert "tools.deny[0]: 'rm -rf' is not a tool name or glob" in result.output


def test_starter_agents_are_warned_the_lists_do_nothing(run: Run, new_agent: NewAgent) -> None:
    name, _ = new_agent(preset="starter")
    result = run("agents", "deny-tool", name, "delete_*")
    assert result.exit_code == 0, result.output
    assert "runs neither tool_permissions nor tool_filter" in result.output


def test_reset_tool_pins(run: Run, new_agent: NewAgent) -> None:
    name, _ = new_agent(preset="regulated")
    result = run("agents", "reset-tool-pins", name)
    assert result.exit_code == 0, result.output
    assert f"Agent {name}: 0 pinned tool definition(s) forgotten." in result.output
