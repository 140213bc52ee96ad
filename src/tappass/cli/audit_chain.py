"""`tappass audit verify` and `tappass audit pubkey`: prove the audit trail unaltered.

`verify` reads the database directly (the SQLite file under TAPPASS_HOME, or
TAPPASS_DATABASE_URL), not through the gateway: what it checks is what is stored, whoever
runs the gateway. `verify --file` checks an export (`GET /v1/audit/export?format=jsonl`)
offline. Both exit 0 with counts when every chain verifies, 1 naming the first edited,
deleted, inserted or reordered event.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tappass.cli._client import AdminClient
from tappass.cli._output import print_json, say
from tappass.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from tappass.audit.verify import Report


@click.group()
def audit() -> None:
    """Verify the tamper-evident audit trail."""


@audit.command()
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
              help="Verify this export (JSON lines, oldest first) instead of the database.")
@click.option("--pubkey", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Public key (PEM or base64) that checks the signed checkpoints. Default "
                   "for the database: this gateway's key under TAPPASS_HOME.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(export_file: Path | None, pubkey: Path | None, as_json: bool) -> None:
    """Check every hash chain and signed checkpoint; name the first tampered event.

    \b
      tappass audit verify
      tappass audit verify --file export.jsonl --pubkey key.pem
    """
    from tappass.audit.verify import verify_lines

    key = _public_key(pubkey)
    if export_file is not None:
        with export_file.open("rb") as lines:
            try:
                report = verify_lines(lines, key)
            except ValueError as exc:
                raise click.ClickException(f"{export_file}: {exc}") from None
    else:
        report = asyncio.run(_verify_database(key))
    _print(report, as_json, signed=key is not None)
    if not report.ok:
        raise SystemExit(1)


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Print key id, PEM and base64 as JSON.")
def pubkey(as_json: bool) -> None:
    """Print the public key that verifies audit checkpoints (from the gateway).

    \b
      tappass audit pubkey > audit-key.pem
    """
    info = AdminClient().get("/v1/audit/pubkey")
    if as_json:
        print_json(info)
    else:
        click.echo(info["public_key_pem"], nl=False)


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    from tappass.audit.signing import parse_public_key
    if path is None:
        return None
    try:
        return parse_public_key(path.read_text(errors="replace"))
    except ValueError as exc:
        raise click.ClickException(f"--pubkey {path}: {exc}") from None


async def _verify_database(key: Ed25519PublicKey | None) -> Report:
    from tappass.audit.signing import KEY_FILE, parse_signing_key
    from tappass.audit.verify import verify_store
    from tappass.settings import load_settings
    from tappass.storage import create_store

    try:
        settings = load_settings()
        if key is None and settings.audit_signing_key is not None:
            key = parse_signing_key(settings.audit_signing_key.get_secret_value()).public_key()
        elif key is None and (settings.home / KEY_FILE).exists():
            key = parse_signing_key((settings.home / KEY_FILE).read_text()).public_key()
        store = create_store(settings)
        await store.open()
    except (ConfigError, StorageError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        return await verify_store(store, key)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        await store.close()


def _print(report: Report, as_json: bool, *, signed: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    problem = report.problem
    if problem is not None:
        say(f"TAMPERED: {problem.kind} event {problem.event_id}: {problem.detail}",
            style="bold red")
    else:
        say(f"OK: {report.chained} chained events in {len(report.writers)} chain(s), "
            f"{report.checkpoints} signed checkpoints verified, {report.legacy} legacy "
            "(unchained, from before the chain)", style="green")
    if not signed:
        say("no public key: signatures not checked (pass --pubkey)", style="yellow")
    tails = sum(w["unsigned_tail"] for w in report.writers.values())
    if problem is None and tails:
        say(f"{tails} event(s) after the last checkpoint of their chain are covered by the "
            "hash chain only", style="dim")
