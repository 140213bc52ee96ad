"""The `tappass` command: one group, one module per noun."""

from __future__ import annotations

import click

from tappass._version import __version__
from tappass.cli.agents import agents
from tappass.cli.audit_chain import audit
from tappass.cli.eval_cmd import eval_command
from tappass.cli.gov import gov
from tappass.cli.logs import logs
from tappass.cli.scan import scan
from tappass.cli.status import status
from tappass.cli.test_cmd import test_command
from tappass.cli.up import up
from tappass.cli.vault import vault


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tappass")
def cli() -> None:
    """TapPass: governance gateway for AI agents.

    Start the gateway with `tappass up`, register an agent with `tappass agents add`,
    check everything with `tappass status`, read the audit trail with `tappass logs`.
    """


cli.add_command(up)
cli.add_command(agents)
cli.add_command(logs)
cli.add_command(status)
cli.add_command(gov)
cli.add_command(test_command)
cli.add_command(scan)
cli.add_command(eval_command)
cli.add_command(vault)
cli.add_command(audit)


def main() -> None:
    cli()
