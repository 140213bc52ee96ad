"""`tappass vault`: provider keys kept encrypted by the gateway (admin API /admin/vault).

Values go to the gateway and are never printed back; `list` shows names and dates only.
"""

from __future__ import annotations

from urllib.parse import quote

import click

from tappass.cli._client import AdminClient
from tappass.cli._output import add_row, fmt_time, print_json, say, show, table
from tappass.vault.cipher import KEY_VARIABLE, new_key

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the gateway's JSON response.")


def _path(name: str) -> str:
    return f"/admin/vault/{quote(name, safe='')}"


@click.group()
def vault() -> None:
    """Keep provider keys encrypted in the gateway (used before the environment's)."""


@vault.command("set")
@click.argument("assignment", metavar="NAME[=VALUE]")
@json_option
def set_secret(assignment: str, as_json: bool) -> None:
    """Store secret NAME, such as ANTHROPIC_API_KEY (asked for, hidden, without =VALUE).

    \b
    The next request uses it, in every worker, without a restart:
      tappass vault set ANTHROPIC_API_KEY
      tappass vault set OPENAI_API_KEY=sk-...
    """
    name, sep, value = assignment.partition("=")
    if not sep:
        value = click.prompt(f"Value of {name}", hide_input=True)
    record = AdminClient().call("PUT", _path(name), body={"value": value})
    if as_json:
        print_json(record)
        return
    say(f"Stored {record['name']} in the vault; the next request uses it.")


@vault.command("list")
@json_option
def list_secrets(as_json: bool) -> None:
    """The stored secrets' names and dates (never their values)."""
    data = AdminClient().get("/admin/vault")
    if as_json:
        print_json(data)
        return
    if not data["data"]:
        say("The vault is empty." if data.get("enabled") else
            f"The vault is off: set {KEY_VARIABLE} (`tappass vault new-key`) and restart.")
        return
    rows = table("NAME", "CREATED", "UPDATED")
    for secret in data["data"]:
        add_row(rows, secret["name"], fmt_time(secret["created_at"]),
                fmt_time(secret["updated_at"]))
    show(rows)


@vault.command("delete")
@click.argument("name")
@json_option
def delete_secret(name: str, as_json: bool) -> None:
    """Remove NAME from the vault (the environment's value, if any, applies again)."""
    result = AdminClient().delete(_path(name))
    if as_json:
        print_json(result)
        return
    say(f"Deleted {name} from the vault.")


@vault.command("rekey")
@click.option("--new-key", prompt="New vault key (base64 of 32 bytes)", hide_input=True,
              help="The new key; asked for (hidden) when not given.")
@json_option
def rekey(new_key: str, as_json: bool) -> None:
    """Re-encrypt every secret under a new vault key (make one with `new-key`)."""
    result = AdminClient().post("/admin/vault/rekey", {"new_key": new_key})
    if as_json:
        print_json(result)
        return
    say(f"Re-encrypted {result['reencrypted']} secret(s). Now {result['next']}.")


@vault.command("new-key")
def make_key() -> None:
    """Print a fresh random vault key, for TAPPASS_VAULT_KEY."""
    click.echo(new_key())
