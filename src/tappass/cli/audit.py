"""`tappass audit ...`: the audit trail as a whole. `export` is in `audit_export`."""

from __future__ import annotations

import click

from tappass.cli.audit_export import export


@click.group()
def audit() -> None:
    """The audit trail: export it for a SIEM or an auditor."""


audit.add_command(export)
