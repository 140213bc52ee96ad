"""`tappass logs`: read the audit trail (GET /v1/audit), newest first.

The table fits 100 columns (long cells end in `…`); `--wide` shows every cell whole and the
flags a request loosened; `--json` prints the events exactly as the gateway returns them.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from tappass.cli._client import AdminClient, ApiError, agent_path
from tappass.cli._output import (
    PIPE_WIDTH,
    add_row,
    fmt_cost,
    fmt_ms,
    fmt_time,
    print_json_line,
    say,
    shorten,
    show,
    table,
    wide_option,
)

MAX_LIMIT = 1000
AGENT_ID_PREFIX = "ag_"
SUMMARY_WIDTHS = {"agent": 14, "model": 14}
STEP_WIDTHS = {"step": 28}


@click.command()
@click.option("--agent", metavar="NAME", help="Only this agent's events (its name or id).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=20, show_default=True,
              help="How many events, newest first.")
@click.option("--blocked", is_flag=True, help="Only blocked requests.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also show every pipeline step with its verdict and duration_ms.")
@wide_option
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON lines.")
def logs(agent: str | None, limit: int, blocked: bool, verbose: bool, wide: bool,
         as_json: bool) -> None:
    """Show recent requests from the audit trail, newest first.

    \b
    Per-step timing (duration_ms), e.g. to find a slow step:
      tappass logs --limit 10 --verbose
    """
    client = AdminClient()
    name = agent_name(client, agent) if agent else None
    page = client.get("/v1/audit", params=_params(name, limit, blocked))
    events: list[dict[str, Any]] = page["data"]
    if as_json:
        for event in events:
            print_json_line(event)
        return
    if not events:
        say(_nothing_found(agent, blocked))
        return
    show(summary_table(events, wide), wide)
    if verbose:
        for event in events:
            _print_steps(event, wide)
    if page.get("has_more"):
        say(f"(the newest {limit} events; older ones may exist: raise --limit)", style="dim")


def agent_name(client: AdminClient, agent: str) -> str:
    """The name the audit trail records for `agent`, given as a name or an `ag_` id."""
    if not agent.startswith(AGENT_ID_PREFIX):
        return agent
    try:
        return str(client.get(agent_path(agent))["name"])
    except ApiError as exc:
        if exc.status == 404:
            return agent  # a deleted agent's events keep its name: show what matches
        raise


def _params(agent: str | None, limit: int, blocked: bool) -> dict[str, str]:
    params = {"limit": str(limit)}
    if agent:
        params["agent"] = agent
    if blocked:
        params["blocked"] = "true"
    return params


def _nothing_found(agent: str | None, blocked: bool) -> str:
    what = "blocked requests" if blocked else "audit events"
    return f"No {what}{f' for agent {agent}' if agent else ''} yet."


def summary_table(events: list[dict[str, Any]], wide: bool = False) -> Table:
    headers = ["time (UTC)", "agent", "model", "status", "mode", "ms", "cost"]
    if wide:
        headers.append("loosened flags")
    rows = table(*headers, right=("ms", "cost"), wide=wide, max_widths=SUMMARY_WIDTHS,
                 fixed=("time (UTC)", "mode"))
    for event in events:
        cells = [fmt_time(event.get("timestamp"), short=not wide), event.get("agent") or "-",
                 event.get("model") or "-", describe_status(event), event.get("mode") or "-",
                 fmt_ms((event.get("latency_ms") or {}).get("total")),
                 fmt_cost(event.get("cost_usd"))]
        if wide:
            cells.append(", ".join(event.get("loosened_flags") or ()) or "-")
        add_row(rows, *cells)
    return rows


def describe_status(event: dict[str, Any]) -> str:
    """`allowed`, `blocked by STEP: reason` or `failed: error`, plus any would-blocks."""
    status = event.get("status") or "-"
    if status == "blocked":
        step = event.get("blocked_by")
        text = f"blocked by {step}: " if step else "blocked: "
        text += event.get("reason") or ""
    elif status == "failed":
        text = f"failed: {event.get('error') or event.get('reason') or ''}"
    else:
        text = status
    lines = [text.rstrip(": ")]
    lines += [f"would block: {item.get('step')} ({item.get('reason') or 'no reason'})"
              for item in event.get("would_block") or ()]
    if event.get("loosened_flags"):  # flags the request set looser than the agent's
        lines.append(f"loosened by request: {', '.join(event['loosened_flags'])}")
    return "\n".join(lines)


def _print_steps(event: dict[str, Any], wide: bool) -> None:
    say()
    heading = (f"{event.get('id')}  {fmt_time(event.get('timestamp'))}  "
               f"{event.get('agent') or '-'}  {event.get('model') or '-'}  "
               f"pipeline {event.get('pipeline') or '-'}")
    say(heading if wide else shorten(heading, PIPE_WIDTH), style="bold")
    steps = event.get("steps") or []
    if not steps:
        say("  no pipeline steps ran (the request was stopped before the pipeline)")
        return
    rows = table("step", "phase", "verdict", "duration_ms", "reason", right=("duration_ms",),
                 wide=wide, max_widths=STEP_WIDTHS, fixed=("phase", "verdict"))
    for step in steps:
        add_row(rows, step.get("step", "?"), step.get("phase", "?"), step.get("verdict", "?"),
                fmt_ms(step.get("duration_ms")), step.get("reason") or "")
    show(rows, wide)
    say(_latency_line(event.get("latency_ms") or {}, steps), style="dim")


def _latency_line(latency: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    step_total = sum(step.get("duration_ms") or 0.0 for step in steps)
    return (f"  steps {step_total:.3f} ms, upstream {fmt_ms(latency.get('upstream'))} ms, "
            f"gateway {fmt_ms(latency.get('gateway'))} ms, total "
            f"{fmt_ms(latency.get('total'))} ms")
