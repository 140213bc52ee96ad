"""Terminal output shared by the CLI commands: the console, tables, check lines, JSON.

Rich writes colours only to a terminal; piped (or under click's CliRunner) the output is
plain text. Tables fit the terminal, and at most 100 columns when piped: one line per row,
long cells shortened with `…`. `--wide` (wide=True) prints every cell whole, however wide
the rows get; `--json` is always complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tappass.money import format_usd

PIPE_WIDTH = 100      # piped output, and the most a compact table uses
WIDE_WIDTH = 100_000  # --wide: never fold or shorten a row
MARKS: dict[str, tuple[str, str]] = {
    "ok": ("✓", "green"),
    "fail": ("✗", "red"),
    "warn": ("!", "yellow"),
    "skip": ("-", "dim"),
}
LABEL_WIDTH = 10
INDENT = " " * (LABEL_WIDTH + 3)  # under the detail column of a check line


def console(wide: bool = False) -> Console:
    """A console on the current stdout (looked up at call time, so CliRunner captures it)."""
    con = Console(highlight=False, emoji=False)
    if wide:
        con.width = WIDE_WIDTH
    elif not con.is_terminal and "COLUMNS" not in os.environ:
        con.width = PIPE_WIDTH
    return con


def say(text: str = "", style: str | None = None) -> None:
    """Print one line as-is: no markup, no wrapping."""
    console().print(Text(text, style=style or ""), soft_wrap=True)


def warn(text: str) -> None:
    say(f"! {text}", style="yellow")


def warn_all(result: Mapping[str, Any], where: Callable[[str], str] = lambda w: w) -> None:
    """Print the `warnings` of an admin API answer, one `! ...` line each."""
    for warning in result.get("warnings") or ():
        warn(where(str(warning)))


def table(*headers: str, right: Iterable[str] = (), title: str | None = None,
          wide: bool = False, max_widths: Mapping[str, int] | None = None,
          fixed: Iterable[str] = ()) -> Table:
    """A borderless table; columns named in `right` are right-aligned (numbers).

    Compact (the default): one line per row; to fit the console the widest text columns are
    cut with `…` first, never the `right` and `fixed` ones, and a column named in
    `max_widths` is never wider than that. `wide`: every cell whole.
    """
    aligned, keep = set(right), set(right) | set(fixed)
    limits = {} if wide else dict(max_widths or {})
    out = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                pad_edge=False, title_style="bold", collapse_padding=not wide)
    for header in headers:
        out.add_column(header, justify="right" if header in aligned else "left",
                       overflow="fold" if wide else "ellipsis",
                       no_wrap=not wide and header in keep, max_width=limits.get(header))
    return out


def add_row(target: Table, *cells: str) -> None:
    """Add a row of plain strings (never interpreted as rich markup); in a compact table
    each line of a cell stays one line, cut with `…`."""
    compact = bool(target.columns) and target.columns[0].overflow == "ellipsis"
    target.add_row(*(Text(cell, no_wrap=compact or None, overflow="ellipsis" if compact
                          else None) for cell in cells))


def show(renderable: Any, wide: bool = False) -> None:
    console(wide).print(renderable)


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters with `…` (for cells and one-line summaries)."""
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def details(pairs: Iterable[tuple[str, str]]) -> None:
    """Print `label  value` lines aligned in two columns."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in pairs:
        grid.add_row(Text(label), Text(value))
    show(grid)


def check_line(state: str, label: str, detail: str, fix: str | None = None,
               lines: Iterable[str] = ()) -> None:
    """One checklist entry: `✓ label  detail`, further detail lines, then `fix: ...`."""
    mark, style = MARKS[state]
    head = Text.assemble((mark, f"bold {style}"), " ", (label.ljust(LABEL_WIDTH), "bold"),
                         " ", detail)
    console().print(head, soft_wrap=True)
    for line in lines:
        say(f"{INDENT}{line}")
    if fix:
        say(f"{INDENT}fix: {fix}", style=style)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_json_line(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def fmt_time(iso: str | None, short: bool = False) -> str:
    """`2026-03-01T12:00:00.123456Z` → `2026-03-01 12:00:00` (UTC); short: `03-01 12:00:00`."""
    if not iso:
        return "-"
    text = iso.replace("T", " ").split(".")[0].removesuffix("Z").removesuffix("+00:00")
    return text[5:] if short and len(text) == 19 else text


def fmt_flags(flags: Mapping[str, str] | None) -> str:
    if not flags:
        return "-"
    return ", ".join(f"{key}={value}" for key, value in sorted(flags.items()))


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def fmt_cost(value: float | None) -> str:
    return format_usd(value)


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


wide_option = click.option("--wide", is_flag=True,
                           help="Show every cell whole (rows may be wider than 100 columns).")
