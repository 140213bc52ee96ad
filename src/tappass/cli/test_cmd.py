"""`tappass test`: dry-run governance scenarios; no provider is called, nothing leaves the machine.

`tappass test FILE` runs a scenario file and prints one line per call and a closing
`N expectations checked: N passed, N failed[, N skipped]` line. Exit codes (so it can gate a
CI): 0 all checked expectations held, 1 an expectation failed, 2 the file is unusable, 3 no
expectation was checked at all (every call skipped) unless `--allow-empty`.
`tappass test` alone is interactive: each line typed is sent through the pipeline as a
user message and every step's verdict and timing is printed.
Presets are built locally; a custom pipeline or an agent's pipeline is read from the gateway.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from tappass.cli._client import AdminClient
from tappass.cli._output import (
    MARKS,
    add_row,
    check_line,
    fmt_flags,
    fmt_ms,
    print_json,
    print_json_line,
    say,
    show,
    table,
    warn,
    wide_option,
)
from tappass.errors import ConfigError
from tappass.pipeline.catalog import DEFAULT_ALIAS, build_custom
from tappass.pipeline.definition import PRESET_NAMES, PipelineDefinition, load_preset
from tappass.pipeline.overrides import apply, normalize
from tappass.pipeline.views import counts
from tappass.policy.flags import FlagError, parse_flags
from tappass.scenarios import (
    Call,
    CallResult,
    DryRun,
    Execution,
    Scenario,
    Target,
    load_scenario,
    run_scenario,
    tally,
)
from tappass.settings import load_settings

ECHO_NOTE = "Nothing leaves this machine: every model is answered by the demo echo model."
QUIT = {"exit", "quit", ":q"}
EXIT_FAILED, EXIT_NOTHING_CHECKED = 1, 3
LABEL_MAX = 40
Fetch = Callable[[str], Any]   # GET an admin API path of the gateway, return its JSON


class BadScenarioFile(click.ClickException):
    exit_code = 2


@click.command("test")
@click.argument("file", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pipeline", metavar="NAME", help="Pipeline to run: a preset or a custom "
              "pipeline [default: the file's, else the default preset].")
@click.option("--flags", "flags_text", default="", metavar="FLAGS",
              help='Governance flags, e.g. "mode=observe, budget=dev".')
@click.option("--allow-empty", is_flag=True, help="Exit 0 even when no expectation was "
              "checked (every call skipped).")
@wide_option
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
def test_command(file: Path | None, pipeline: str | None, flags_text: str,
                 allow_empty: bool, wide: bool, as_json: bool) -> None:
    """Dry-run scenarios through a pipeline, with no real provider call.

    \b
    Examples:
      tappass test                            interactive: type a prompt, see each step
      tappass test scenarios/hr-agent.yaml    run a scenario file
      tappass test scenarios/hr-agent.yaml --pipeline regulated --flags "mode=enforce"

    \b
    Exit codes of a scenario file run:
      0  every checked expectation held
      1  an expectation failed
      2  the file (or an option) is unusable
      3  no expectation was checked at all: every call was skipped (--allow-empty: exit 0)
    """
    try:
        flags = parse_flags(flags_text)
    except FlagError as exc:
        raise click.BadParameter(str(exc), param_hint="--flags") from None
    if file is None:
        _interactive(_target(None, pipeline, flags), as_json, wide)
        return
    try:
        scenario = load_scenario(file)
    except ConfigError as exc:
        raise BadScenarioFile(str(exc)) from None
    target = _target(scenario, pipeline, flags)
    results = asyncio.run(run_scenario(scenario, target))
    summary = tally(results)
    if as_json:
        print_json({"file": scenario.source, "pipeline": target.definition.name,
                    "flags": target.flags, "summary": summary,
                    "results": [result_dict(r) for r in results]})
    else:
        _print_results(scenario, target, results, summary)
    if summary["failed"]:
        raise click.exceptions.Exit(EXIT_FAILED)
    if not summary["checked"] and not allow_empty:
        raise click.exceptions.Exit(EXIT_NOTHING_CHECKED)


# -- which pipeline ----------------------------------------------------------------------------

def _target(scenario: Scenario | None, pipeline: str | None, flags: dict[str, str]) -> Target:
    try:
        return resolve_target(scenario, pipeline=pipeline, flags=flags,
                              fetch=lambda path: AdminClient().get(path),
                              default_preset=load_settings(storage="memory").default_preset)
    except ConfigError as exc:  # a stored pipeline this version cannot build, bad settings
        raise click.ClickException(str(exc)) from None


def resolve_target(scenario: Scenario | None, *, pipeline: str | None, flags: dict[str, str],
                   fetch: Fetch, default_preset: str) -> Target:
    """Pipeline: --pipeline, else the file's, else the agent's, else the default preset.
    Flags: pipeline defaults < the agent's < the file's < --flags (< each call's)."""
    agent: dict[str, Any] = {}
    if scenario and scenario.agent:
        agent = fetch(f"/v1/agents/{quote(scenario.agent, safe='')}")
    name = pipeline or (scenario and scenario.pipeline) or agent.get("preset") or DEFAULT_ALIAS
    definition = _definition(default_preset if name == DEFAULT_ALIAS else name, fetch)
    for raw in (agent.get("overrides"), scenario.overrides if scenario else None):
        if raw:
            definition = apply(definition, normalize(raw))
    merged = {**definition.defaults, **agent.get("flags", {}),
              **(scenario.flags if scenario else {}), **flags}
    return Target(definition, merged, agent.get("name", "tappass-test"))


def _definition(name: str, fetch: Fetch) -> PipelineDefinition:
    if name in PRESET_NAMES:
        return load_preset(name)
    view = fetch(f"/admin/pipelines/{quote(name, safe='')}")
    if view["kind"] == "preset":
        return load_preset(view["name"])
    return build_custom(view["name"], view["spec"])


# -- a scenario file ---------------------------------------------------------------------------

def _describe(target: Target) -> str:
    c = counts(target.definition)
    return (f"pipeline {target.definition.name} ({c['before']} before / {c['call']} call / "
            f"{c['after']} after = {c['total']} steps), flags {fmt_flags(target.flags)}")


def _print_results(scenario: Scenario, target: Target, results: list[CallResult],
                   summary: dict[str, int]) -> None:
    say(f"{scenario.source}: {len(results)} calls through {_describe(target)}")
    say(ECHO_NOTE)
    say()
    width = min(max(len(label(r.call)) for r in results), LABEL_MAX)
    for result in results:
        _print_result(result, width)
    say()
    if not summary["checked"]:
        warn("no expectation was checked, so "
             "this run proves nothing: exit code 3 unless --allow-empty")
    say(summary_line(summary))


def _print_result(result: CallResult, width: int) -> None:
    call, run = result.call, result.run
    name = label(call).ljust(width)
    if run is None:
        check_line("skip", name, f"skipped: {result.note}")
        return
    wanted = call.expect + (f" ({call.expect_reason})" if call.expect_reason else "")
    detail = f"expected {wanted}, got {run.outcome}{_at(run)}"
    lines = [f"would block at {r.step}: {r.reason}" for r in run.would_block]
    if result.note and result.note not in detail:
        lines.insert(0, result.note)
    check_line("ok" if result.status == "passed" else "fail", name, detail)
    for line in lines:
        say(" " * (len(name) + 3) + line)


def _at(run: Execution) -> str:
    if run.outcome == "allow":
        return ""
    return f" at {run.step}: {run.reason}" if run.step else f": {run.reason}"


def summary_line(summary: dict[str, int]) -> str:
    """`3 expectations checked: 2 passed, 1 failed, 2 skipped`."""
    checked = summary["checked"]
    line = (f"{checked} expectation{'' if checked == 1 else 's'} checked: "
            f"{summary['passed']} passed, {summary['failed']} failed")
    return f"{line}, {summary['skipped']} skipped" if summary["skipped"] else line


def label(call: Call) -> str:
    if call.name:
        return call.name
    if call.kind == "tool":
        return f"{call.tool['provider']}.{call.tool['action']}"
    content = call.body["messages"][-1].get("content")
    return excerpt(content if isinstance(content, str) else str(content))


def excerpt(text: str, width: int = 40) -> str:
    """`"first words…"`, with control characters shown escaped."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(text.split()))
    return f'"{shown[:width - 1]}…"' if len(shown) > width else f'"{shown}"'


def result_dict(result: CallResult) -> dict[str, Any]:
    call = result.call
    out: dict[str, Any] = {"index": call.index, "name": label(call), "kind": call.kind,
                           "line": call.line, "expect": call.expect,
                           "expect_reason": call.expect_reason, "status": result.status,
                           "note": result.note}
    return {**out, **(execution_dict(result.run) if result.run else {})}


def execution_dict(run: Execution) -> dict[str, Any]:
    return {"outcome": run.outcome, "step": run.step, "reason": run.reason,
            "would_block": [{"step": r.step, "reason": r.reason} for r in run.would_block],
            "duration_ms": run.duration_ms, "answer": run.answer,
            "steps": [r.as_dict() for r in run.steps]}


# -- interactive -------------------------------------------------------------------------------

def _interactive(target: Target, as_json: bool, wide: bool) -> None:
    if not as_json:
        say(f"Dry run through {_describe(target)}")
        say(ECHO_NOTE)
        say("Type a prompt and press Enter; `exit`, `quit` or Ctrl-D ends.")
    dry = DryRun(target)
    with asyncio.Runner() as runner:
        runner.run(dry.open())
        try:
            for text in _prompts(as_json):
                call = Call(0, "chat", "allow", body={"model": "tappass/echo", "messages": [
                    {"role": "user", "content": text}]})
                run = runner.run(dry.execute(call))
                if as_json:
                    print_json_line(execution_dict(run))
                else:
                    _print_execution(run, wide)
        finally:
            runner.run(dry.close())


def _prompts(quiet: bool) -> Iterator[str]:
    while True:
        try:
            line = input("" if quiet else "> ")
        except (EOFError, KeyboardInterrupt):
            if not quiet:
                click.echo()
            return
        if not quiet and not sys.stdin.isatty():
            click.echo(line)  # piped: show what was read, so the transcript reads well
        if line.strip().lower() in QUIT:
            return
        if line.strip():
            yield line


def _print_execution(run: Execution, wide: bool) -> None:
    rows = table("phase", "step", "verdict", "ms", "reason", right=("ms",), wide=wide,
                 fixed=("phase", "step", "verdict"))
    for result in run.steps:
        add_row(rows, result.phase.value, result.step, result.verdict.value,
                fmt_ms(result.duration_ms), result.reason)
    show(rows, wide)
    mark = MARKS["ok" if run.outcome == "allow" else "fail"][0]
    say(f"{mark} {run.outcome}{_at(run)} ({fmt_ms(run.duration_ms)} ms)")
    for result in run.would_block:
        say(f"  would block at {result.step}: {result.reason}")
    if run.answer is not None:
        say(f"  answer: {run.answer}")
    say()
