"""`tappass scan`: run detection steps over JSONL texts, offline; one JSONL result per line.

Input lines are `{"id": ..., "text": ...}` from a file or stdin; output lines are
`{"id": ..., "blocked": bool, "findings": [{"step", "type", "start", "end", "score"}]}`
with offsets into the text as given. A progress bar goes to stderr when it is a terminal.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import IO, Any

import click
import orjson

from tappass.errors import ConfigError
from tappass.pipeline.offline import OfflineRunner, parse_steps
from tappass.policy.flags import FlagError, parse_flags


def build_runner(steps: str | None, preset: str | None, flags: str) -> OfflineRunner:
    """The runner for `--steps` or `--preset`; click.UsageError names what is wrong."""
    if bool(steps) == bool(preset):
        raise click.UsageError("give exactly one of --steps a,b or --preset NAME")
    try:
        parsed = parse_flags(flags) if flags else {}
        if preset:
            runner = OfflineRunner.for_preset(preset, parsed)
        else:
            runner = OfflineRunner(parse_steps(steps or ""), parsed)
    except (ConfigError, FlagError) as exc:
        raise click.UsageError(str(exc)) from None
    if not runner.steps:
        raise click.UsageError(f"preset {preset!r} has no detection step that runs offline yet")
    return runner


def read_rows(handle: IO[str], source: str) -> Iterator[dict[str, Any]]:
    """JSON objects, one per `\\n`-terminated line (other line separators stay in the text)."""
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise click.ClickException(f"{source}:{number}: not valid JSON ({exc})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise click.ClickException(f"{source}:{number}: expected an object with a "
                                       "string \"text\"")
        yield row


def progress(total: int | None) -> Any:
    """A rich progress bar on stderr when it is a terminal; otherwise None."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress
    bar = Progress(console=Console(stderr=True), transient=True)
    bar.start()
    bar.add_task("scanning", total=total)
    return bar


@click.command("scan")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--steps", help="comma-separated step ids, e.g. detect_pii,detect_secrets")
@click.option("--preset", help="run the preset's detection steps (starter, standard, regulated)")
@click.option("--flags", default="", help="flags as in X-TapPass-Flags, e.g. 'pii=block'")
def scan(source: IO[str], steps: str | None, preset: str | None, flags: str) -> None:
    """Scan JSONL texts ({"id", "text"}) from SOURCE (default stdin) with detection steps."""
    runner = build_runner(steps, preset, flags)
    asyncio.run(_scan(runner, source))


async def _scan(runner: OfflineRunner, source: IO[str]) -> None:
    out = sys.stdout.buffer
    bar = progress(None)
    try:
        for row in read_rows(source, getattr(source, "name", "<stdin>")):
            outcome = await runner.run(row["text"])
            out.write(orjson.dumps({"id": row.get("id"), "blocked": outcome.blocked,
                                    "findings": [h.as_dict() for h in outcome.hits]}) + b"\n")
            if bar is not None:
                bar.advance(bar.task_ids[0])
    finally:
        if bar is not None:
            bar.stop()
        out.flush()
