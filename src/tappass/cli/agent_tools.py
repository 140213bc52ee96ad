"""`tappass agents tools | allow-tool | deny-tool | remove-tool | reset-tool-pins`: an
agent's tool allow and deny lists (admin API `PUT /v1/agents/{name}/tools`)."""

from __future__ import annotations

from typing import Any

import click

from tappass.cli._client import AdminClient, agent_path
from tappass.cli._output import details, print_json, say, warn_all

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the gateway's JSON response.")


def _names(names: list[str] | None) -> str:
    return ", ".join(names or ()) or "-"


def _update(name: str, *, allow: tuple[str, ...] = (), deny: tuple[str, ...] = (),
            remove: tuple[str, ...] = ()) -> dict[str, Any]:
    client = AdminClient()
    current = client.get(agent_path(name, "tools"))["tools"]
    lists = {key: [t for t in current[key] + list(extra) if t not in remove]
             for key, extra in (("allow", allow), ("deny", deny))}
    result: dict[str, Any] = client.put(agent_path(name, "tools"), lists)
    warn_all(result)
    return result


@click.command("tools")
@click.argument("name")
@json_option
def show_tools(name: str, as_json: bool) -> None:
    """Show the tool allow and deny lists of agent NAME and its pinned tool definitions."""
    view = AdminClient().get(agent_path(name, "tools"))
    if as_json:
        print_json(view)
        return
    pins = view.get("pins") or {}
    details([("agent", view["agent"]), ("allowed tools", _names(view["tools"]["allow"]) if
             view["tools"]["allow"] else "every tool not denied"),
             ("denied tools", _names(view["tools"]["deny"])),
             ("pinned definitions", ", ".join(f"{t} {h[:12]}…" for t, h in pins.items()) or "-")])


@click.command("allow-tool")
@click.argument("name")
@click.argument("tools", nargs=-1, required=True)
def allow_tool(name: str, tools: tuple[str, ...]) -> None:
    """Add TOOLS (names or globs such as gmail_*) to the allow list of agent NAME.

    \b
    With an allow list, only the tools on it may be used (a deny entry still wins).
    Example:
      tappass agents allow-tool hr-agent gmail_search gmail_send
    """
    result = _update(name, allow=tools)
    say(f"Agent {result['agent']}: allowed tools {_names(result['tools']['allow'])}.")


@click.command("deny-tool")
@click.argument("name")
@click.argument("tools", nargs=-1, required=True)
def deny_tool(name: str, tools: tuple[str, ...]) -> None:
    """Add TOOLS (names or globs such as delete_*) to the deny list of agent NAME.

    \b
    Example:
      tappass agents deny-tool finance-bot "delete_*" shell_exec
    """
    result = _update(name, deny=tools)
    say(f"Agent {result['agent']}: denied tools {_names(result['tools']['deny'])}.")


@click.command("remove-tool")
@click.argument("name")
@click.argument("tools", nargs=-1, required=True)
def remove_tool(name: str, tools: tuple[str, ...]) -> None:
    """Remove TOOLS from both the allow and the deny list of agent NAME."""
    result = _update(name, remove=tools)
    say(f"Agent {result['agent']}: allowed tools {_names(result['tools']['allow'])}; denied "
        f"tools {_names(result['tools']['deny'])}.")


@click.command("reset-tool-pins")
@click.argument("name")
def reset_tool_pins(name: str) -> None:
    """Forget the pinned tool definitions of agent NAME: the next definitions it sends are
    pinned again (accept a tool whose definition changed on purpose)."""
    result = AdminClient().delete(agent_path(name, "tools", "pins"))
    say(f"Agent {result['agent']}: {result['cleared']} pinned tool definition(s) forgotten.")


COMMANDS = (show_tools, allow_tool, deny_tool, remove_tool, reset_tool_pins)
