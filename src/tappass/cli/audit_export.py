"""`tappass audit export`: the audit trail as JSON Lines, CEF or OCSF, to a file or stdout.

`tappass logs` shows recent requests; `tappass audit export` writes every matching event
(GET /v1/audit/export) as JSON Lines, CEF or OCSF to a file or stdout. A progress line
goes to stderr only when stderr is a terminal, so pipes and files get the events alone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tappass.cli._client import AdminClient
from tappass.cli.logs import agent_name

EXPORT_TIMEOUT = 300.0


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "cef", "ocsf"]), default="jsonl",
              show_default=True, help="JSON Lines (the events as stored), CEF or OCSF.")
@click.option("--agent", metavar="NAME", help="Only this agent's events (its name or id).")
@click.option("--after", type=click.DateTime(), help="Only events after this time (UTC).")
@click.option("--before", type=click.DateTime(), help="Only events before this time (UTC).")
@click.option("--blocked/--allowed", default=None, help="Only blocked, or only not blocked.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many events.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of stdout.")
def export(fmt: str, agent: str | None, after: datetime | None, before: datetime | None,
           blocked: bool | None, limit: int | None, output: str | None) -> None:
    """Export the audit trail, oldest first, one event per line.

    \b
      tappass audit export --format cef --blocked -o blocked.cef
      tappass audit export --format ocsf --after 2026-12-01 > events.ocsf.jsonl
    """
    client = AdminClient()
    params = _params(fmt, agent_name(client, agent) if agent else None, after, before,
                     blocked, limit)
    with ExitStack() as stack:
        out: IO[str] = stack.enter_context(open(output, "w", encoding="utf-8")) \
            if output else sys.stdout
        lines = stack.enter_context(client.stream_lines("/v1/audit/export", params=params,
                                                        timeout=EXPORT_TIMEOUT))
        count = _copy(lines, out, stack)
    if output:
        click.echo(f"wrote {count} events to {output}", err=True)


def _params(fmt: str, agent: str | None, after: datetime | None, before: datetime | None,
            blocked: bool | None, limit: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"format": fmt}
    if agent:
        params["agent"] = agent
    for name, moment in (("after", after), ("before", before)):
        if moment is not None:
            params[name] = moment.isoformat() + ("" if moment.tzinfo else "Z")
    if blocked is not None:
        params["blocked"] = "true" if blocked else "false"
    if limit is not None:
        params["limit"] = limit
    return params


def _copy(lines: Iterator[str], out: IO[str], stack: ExitStack) -> int:
    """Write every line; show a live count on stderr when it is a terminal."""
    progress = None
    if sys.stderr.isatty():
        progress = stack.enter_context(Progress(
            SpinnerColumn(), TextColumn("exported {task.completed} events"),
            TimeElapsedColumn(), console=Console(stderr=True), transient=True))
        task = progress.add_task("export", total=None)
    count = 0
    for line in lines:
        if not line:
            continue
        out.write(line + "\n")
        count += 1
        if progress is not None and count % 100 == 0:
            progress.update(task, completed=count)
    return count
