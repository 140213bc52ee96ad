"""`tappass agents`: register agent identities and manage them (admin API /v1/agents)."""

from __future__ import annotations

import sys
from typing import Any

import click

from tappass.cli import agent_tools
from tappass.cli._client import AdminClient, agent_path
from tappass.cli._output import (
    add_row,
    details,
    fmt_flags,
    fmt_time,
    print_json,
    say,
    show,
    table,
    warn,
    warn_all,
    wide_option,
    yes_no,
)
from tappass.policy.flags import CHOICES, FlagError, parse_flags

PRESET_HELP = "Pipeline preset: starter, standard or regulated [default: the gateway's]."
SECURE_NOTE = ("Send it to the developer securely (a password manager or secrets vault), "
               "not over email or chat.")

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the gateway's JSON response.")
FLAG_NAME = click.Choice(list(CHOICES))


@click.group()
def agents() -> None:
    """Register agents and manage their API keys."""


@agents.command()
@click.argument("name", required=False)
@click.option("--name", "name_option", metavar="NAME", help="The agent's name (or give it "
              "as the argument).")
@click.option("--preset", default=None, metavar="PRESET", help=PRESET_HELP)
@click.option("--flags", "flags_text", default="", metavar="FLAGS",
              help='Governance flags, e.g. "pii=mask,email=block".')
@click.option("--lock", "locked", multiple=True, type=FLAG_NAME,
              help="A flag requests may only make stricter (repeatable).")
@click.option("--allow-loosening", "loosenable", multiple=True, type=FLAG_NAME,
              help="A flag requests may set looser than the agent's (repeatable), e.g. budget.")
@json_option
def add(name: str | None, name_option: str | None, preset: str | None, flags_text: str,
        locked: tuple[str, ...], loosenable: tuple[str, ...], as_json: bool) -> None:
    """Register agent NAME and print its API key (shown only once).

    \b
    Examples:
      tappass agents add finance-bot --preset=regulated --flags="pii=mask,email=block"
      tappass agents add --name research-bot --preset standard
    """
    body: dict[str, Any] = {"name": _one_name(name, name_option),
                            "flags": _parse_flags(flags_text)}
    if preset:
        body["preset"] = preset
    if locked:
        body["locked_flags"] = sorted(set(locked))
    if loosenable:
        body["loosenable_flags"] = sorted(set(loosenable))
    agent = AdminClient().post("/v1/agents", body)
    if as_json:
        print_json(agent)
        return
    say(f"Registered agent {agent['name']} (id {agent['id']}, preset {agent['preset']}, "
        f"flags {fmt_flags(agent.get('flags'))}).")
    warn_all(agent)
    _print_key(agent["api_key"])


def _one_name(argument: str | None, option: str | None) -> str:
    if argument and option and argument != option:
        raise click.UsageError(f"two names given ({argument!r} and --name {option!r}): "
                               "give the agent name once")
    name = argument or option
    if not name:
        raise click.UsageError("missing the agent name: tappass agents add NAME "
                               "(or --name NAME)")
    return name


def _parse_flags(text: str) -> dict[str, str]:
    try:
        return parse_flags(text)
    except FlagError as exc:
        raise click.BadParameter(str(exc), param_hint="--flags") from None


def _print_key(key: str) -> None:
    say()
    say("API key (shown only once; it cannot be retrieved later):", style="bold")
    say(f"  {key}")
    say()
    warn(SECURE_NOTE)


@agents.command("list")
@wide_option
@json_option
def list_agents(wide: bool, as_json: bool) -> None:
    """List registered agents (name, id, preset, flags); commands take the name or the id."""
    page = AdminClient().get("/v1/agents")
    if as_json:
        print_json(page)
        return
    if not page["data"]:
        say("No agents registered yet. Add one: tappass agents add NAME --preset starter")
        return
    rows = table("name", "id", "preset", "enabled", "flags", "created (UTC)", wide=wide,
                 max_widths={"name": 24, "preset": 16}, fixed=("id", "enabled", "created (UTC)"))
    for agent in page["data"]:
        add_row(rows, agent["name"], agent["id"], agent["preset"], yes_no(agent["enabled"]),
                fmt_flags(agent.get("flags")), fmt_time(agent.get("created_at"), short=not wide))
    show(rows, wide)


@agents.command("show")
@click.argument("name")
@json_option
def show_agent(name: str, as_json: bool) -> None:
    """Show agent NAME (or id), never its key: only the key's public prefix."""
    agent = AdminClient().get(agent_path(name))
    if as_json:
        print_json(agent)
        return
    details([("name", agent["name"]), ("id", agent["id"]), ("preset", agent["preset"]),
             ("enabled", yes_no(agent["enabled"])), ("flags", fmt_flags(agent.get("flags"))),
             ("locked flags", _names(agent.get("locked_flags"))),
             ("loosenable flags", _names(agent.get("loosenable_flags"))),
             ("key prefix", agent.get("key_prefix") or "-"),
             ("created (UTC)", fmt_time(agent.get("created_at"))),
             ("updated (UTC)", fmt_time(agent.get("updated_at")))])


def _patch(name: str, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = AdminClient().patch(agent_path(name), body)
    return result


@agents.command()
@click.argument("name")
def disable(name: str) -> None:
    """Block agent NAME (or id) at once: its key is refused until `tappass agents enable`."""
    agent = _patch(name, {"enabled": False})
    say(f"Agent {agent['name']} disabled: every request with its key is now blocked (403). "
        f"Re-enable with: tappass agents enable {agent['name']}")


@agents.command()
@click.argument("name")
def enable(name: str) -> None:
    """Let agent NAME (or id) make requests again."""
    agent = _patch(name, {"enabled": True})
    say(f"Agent {agent['name']} enabled.")


@agents.command("set-preset")
@click.argument("name")
@click.argument("preset")
def set_preset(name: str, preset: str) -> None:
    """Switch agent NAME (or id) to pipeline PRESET (starter, standard or regulated)."""
    agent = _patch(name, {"preset": preset})
    say(f"Agent {agent['name']} now uses the {agent['preset']} pipeline.")


@agents.command("rotate-key")
@click.argument("name")
@json_option
def rotate_key(name: str, as_json: bool) -> None:
    """Give agent NAME (or id) a new API key; the old key stops working immediately."""
    agent = AdminClient().post(agent_path(name, "rotate-key"))
    if as_json:
        print_json(agent)
        return
    say(f"New key for agent {agent['name']}. The old key stopped working immediately.")
    _print_key(agent["api_key"])


def _stdin_interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


@agents.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete agent NAME (or id) and its key (its audit events are kept)."""
    if not yes:
        _confirm(f"Delete agent {name}? Its key stops working immediately.", name)
    result = AdminClient().delete(agent_path(name))
    say(f"Agent {result.get('deleted') or name} deleted.")


def _confirm(question: str, name: str) -> None:
    if not _stdin_interactive():
        raise click.ClickException(f"refusing to delete agent {name} without confirmation "
                                   "(stdin is not a terminal): add --yes")
    click.confirm(question, default=False, abort=True)


# -- what requests may change: locked_flags and loosenable_flags ------------------------

def _names(names: list[str] | None) -> str:
    return ", ".join(names or ()) or "-"


def _change_names(name: str, field: str, *, add: tuple[str, ...] = (),
                  remove: tuple[str, ...] = ()) -> list[str]:
    """Add or remove flag names in the agent's `field` list; the list the gateway now holds."""
    current = set(AdminClient().get(agent_path(name)).get(field) or ())
    agent = _patch(name, {field: sorted((current | set(add)) - set(remove))})
    return list(agent.get(field) or [])


@agents.command("allow-loosening")
@click.argument("name")
@click.argument("flags", nargs=-1, required=True, type=FLAG_NAME)
def allow_loosening(name: str, flags: tuple[str, ...]) -> None:
    """Let requests of agent NAME set FLAGS looser than the agent's own configuration.

    \b
    Without this a request may not set mode=off, pii=off, email=allow (or another
    internal:<domain>), or a budget above the agent's. Every request that does is recorded
    with `loosened_flags` in its audit event. A locked flag stays locked.
    Example:
      tappass agents allow-loosening research-bot budget
    """
    names = _change_names(name, "loosenable_flags", add=flags)
    say(f"Agent {name}: requests may now loosen {_names(names)} (recorded in the audit "
        f"trail as loosened_flags). Undo with: tappass agents forbid-loosening {name} "
        f"{' '.join(flags)}")


@agents.command("forbid-loosening")
@click.argument("name")
@click.argument("flags", nargs=-1, required=True, type=FLAG_NAME)
def forbid_loosening(name: str, flags: tuple[str, ...]) -> None:
    """Refuse (403 flag_locked) requests of agent NAME that set FLAGS looser than its own.

    The default for every flag. mode=observe and pii=mask|redact|tokenize stay allowed:
    lock the flag to refuse those too (tappass agents lock-flag NAME mode).
    """
    names = _change_names(name, "loosenable_flags", remove=flags)
    say(f"Agent {name}: requests may loosen {_names(names)}; "
        f"{', '.join(sorted(set(flags)))} may only be made stricter.")


@agents.command("lock-flag")
@click.argument("name")
@click.argument("flags", nargs=-1, required=True, type=FLAG_NAME)
def lock_flag(name: str, flags: tuple[str, ...]) -> None:
    """Lock FLAGS for agent NAME: a request may only make them stricter (even mode=observe
    is refused when mode is locked).
    """
    names = _change_names(name, "locked_flags", add=flags)
    say(f"Agent {name}: locked flags {_names(names)}. Undo with: tappass agents unlock-flag "
        f"{name} {' '.join(flags)}")


@agents.command("unlock-flag")
@click.argument("name")
@click.argument("flags", nargs=-1, required=True, type=FLAG_NAME)
def unlock_flag(name: str, flags: tuple[str, ...]) -> None:
    """Unlock FLAGS for agent NAME (loosening them still needs allow-loosening)."""
    names = _change_names(name, "locked_flags", remove=flags)
    say(f"Agent {name}: locked flags {_names(names)}.")


# -- the agent's tools: `tappass agents tools | allow-tool | deny-tool ...` -------------------

for _command in agent_tools.COMMANDS:
    agents.add_command(_command)
