"""`tappass gov`: inspect and tune governance pipelines (admin API /admin/pipelines, /admin/steps).

YAML override files are applied with `tappass gov apply FILE --agent NAME` (one agent) or
`--pipeline NAME` (a custom pipeline). The gateway validates them; its errors start with the
path of the bad value, which is turned back into the line of the file it is written on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from tappass.cli._client import AdminClient, ApiError, agent_path
from tappass.cli._output import (
    add_row,
    details,
    print_json,
    say,
    show,
    table,
    warn,
    warn_all,
    wide_option,
)
from tappass.errors import ConfigError
from tappass.yaml_source import load_yaml, message_line, node_line

PHASES = ("before", "call", "after")
FILE_KEYS = ("preset", "overrides", "policy")

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the gateway's JSON response.")


@click.group()
def gov() -> None:
    """Inspect and tune governance pipelines: presets, custom pipelines, steps, overrides."""


def pipeline_path(name: str) -> str:
    return f"/admin/pipelines/{quote(name, safe='')}"


def counts_line(name: str, counts: dict[str, int]) -> str:
    """`regulated: 24 before / 8 call / 13 after = 45 steps`."""
    return (f"{name}: {counts['before']} before / {counts['call']} call / "
            f"{counts['after']} after = {counts['total']} steps")


def slots_line(view: dict[str, Any]) -> list[str]:
    """What the counts count: `45 slots: 41 steps, 4 of them twice (...)`."""
    phases: dict[str, list[str]] = {}
    for phase in PHASES:
        for row in view["phases"][phase]:
            phases.setdefault(row["step"], []).append(phase)
    twice = [step for step, where in phases.items() if len(where) > 1]
    total = sum(len(where) for where in phases.values())
    line = f"{total} slots: {len(phases)} steps"
    if twice:
        line += f", {len(twice)} of them twice ({', '.join(twice)})"
    return [line, "(a slot is a step in one phase; X-TapPass-Steps lists one entry per slot)"]


def fmt_value(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@gov.command()
@wide_option
@json_option
def pipelines(wide: bool, as_json: bool) -> None:
    """List the presets and custom pipelines with their step counts (slots per phase)."""
    page = AdminClient().get("/admin/pipelines")
    if as_json:
        print_json(page)
        return
    rows = table("name", "kind", *PHASES, "total", "default", right=(*PHASES, "total"),
                 wide=wide, fixed=("kind", "default"))
    for row in page["data"]:
        counts = row["counts"]
        add_row(rows, row["name"], row["kind"], *(str(counts[k]) for k in (*PHASES, "total")),
                "yes" if row["default"] else "")
    show(rows, wide)


@gov.command("pipeline")
@click.argument("name")
@json_option
def show_pipeline(name: str, as_json: bool) -> None:
    """Show the steps of pipeline NAME by phase and category ("default": the default preset)."""
    view = AdminClient().get(pipeline_path(name))
    if as_json:
        print_json(view)
        return
    say(counts_line(view["name"], view["counts"]))
    for line in slots_line(view):
        say(line)
    say(f"{view['kind']}{', the default' if view.get('default') else ''}: "
        f"{view['description']}")
    if view.get("spec"):
        spec = view["spec"]
        say(f"based on {spec['base']}; enable: {', '.join(spec.get('enable') or []) or '-'}; "
            f"disable: {', '.join(spec.get('disable') or []) or '-'}")
    unavailable = set(view["unavailable"])
    for phase in PHASES:
        _print_phase(phase, view, unavailable)
    if view.get("policy"):
        say()
        say(f"policy: {fmt_value(view['policy'])}")
    if unavailable:
        slots = sum(1 for phase in PHASES for row in view["phases"][phase]
                    if row["step"] in unavailable)
        say()
        warn(f"{len(unavailable)} steps in {slots} slots are not implemented in this version: "
             "they report 'unavailable', never block.")


def _print_phase(phase: str, view: dict[str, Any], unavailable: set[str]) -> None:
    options = {row["step"]: row["options"] for row in view["phases"][phase]}
    say()
    say(f"{phase} ({view['counts'][phase]})", style="bold")
    for category, steps in view["categories"][phase].items():
        say(f"  {category} ({len(steps)})")
        for step in steps:
            marks = ["unavailable"] if step in unavailable else []
            if options.get(step):
                marks.append(fmt_value(options[step]))
            say(f"    {step}" + (f"  ({'; '.join(marks)})" if marks else ""))


@gov.command("step")
@click.argument("step_id", metavar="ID")
@click.option("--pipeline", default="default", show_default=True, metavar="NAME",
              help="The pipeline whose current option values to show.")
@wide_option
@json_option
def show_step(step_id: str, pipeline: str, wide: bool, as_json: bool) -> None:
    """Show step ID (or an alias): what it detects, where it runs, its options and values."""
    view = AdminClient().get(f"/admin/steps/{quote(step_id, safe='')}",
                             params={"pipeline": pipeline})
    if as_json:
        print_json(view)
        return
    presets = "; ".join(f"{name}: {', '.join(phases)}" for name, phases in
                        view["presets"].items() if phases)
    runs_in = view["pipeline"]["runs_in"]
    details([("step", view["id"]), ("aliases", ", ".join(view["aliases"]) or "-"),
             ("summary", view["summary"]), ("category", view["category"]),
             ("phases", ", ".join(view["phases"])), ("presets", presets or "none"),
             ("status", view["status"]),
             (f"in {view['pipeline']['name']}", ", ".join(runs_in) or "not run")])
    if not view["options"]:
        say()
        say("No options.")
        return
    say()
    rows = table("option", "type", "default", "current", wide=wide,
                 title=f"Options (current values: pipeline {view['pipeline']['name']})")
    for option in view["options"]:
        add_row(rows, option["name"], option["type"], fmt_value(option["default"]),
                fmt_value(option["current"]) if "current" in option else "(not run)")
    show(rows, wide)


@gov.command()
@click.argument("agent")
@click.option("--pipeline", required=True, metavar="NAME",
              help="A preset (starter, standard, regulated) or a custom pipeline.")
@json_option
def assign(agent: str, pipeline: str, as_json: bool) -> None:
    """Run agent AGENT (its name or id) on pipeline NAME; its overrides are kept."""
    result = AdminClient().patch(agent_path(agent, "pipeline"), {"preset": pipeline})
    if as_json:
        print_json(result)
        return
    info = result["pipeline"]
    say(f"Agent {result['name']} now runs {counts_line(info['name'], info['counts'])}.")
    warn_all(result)


@gov.command("create-pipeline")
@click.argument("name")
@click.option("--base", default="standard", show_default=True, metavar="PRESET",
              help="The preset to start from: starter, standard or regulated.")
@click.option("--enable", multiple=True, metavar="STEP", help="Add a step (repeatable).")
@click.option("--disable", multiple=True, metavar="STEP", help="Remove a step (repeatable).")
@click.option("--description", default=None, help="What the pipeline is for.")
@json_option
def create_pipeline(name: str, base: str, enable: tuple[str, ...], disable: tuple[str, ...],
                    description: str | None, as_json: bool) -> None:
    """Create custom pipeline NAME from a preset, adding and removing steps.

    \b
    Example:
      tappass gov create-pipeline custom-claims \\
        --base regulated \\
        --enable tool_poisoning_detection \\
        --disable debug_logging
    """
    body: dict[str, Any] = {"name": name, "base": base, "enable": list(enable),
                            "disable": list(disable)}
    if description:
        body["description"] = description
    view = AdminClient().post("/admin/pipelines", body)
    if as_json:
        print_json(view)
        return
    say(f"Created pipeline {counts_line(view['name'], view['counts'])}.")
    warn_all(view)
    say(f"Assign it to an agent: tappass gov assign AGENT --pipeline {view['name']}")


@gov.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--agent", metavar="NAME", help="Apply to this agent, by name or id (its preset "
              "and overrides).")
@click.option("--pipeline", metavar="NAME", help="Apply to this custom pipeline (created if new).")
@json_option
def apply_file(file: Path, agent: str | None, pipeline: str | None, as_json: bool) -> None:
    """Apply a YAML override file: `preset:`, `overrides:` and `policy:`.

    The file replaces the agent's (or pipeline's) overrides as a whole.

    \b
    Examples:
      tappass gov apply hr.yaml --agent hr-assistant
      tappass gov apply hr.yaml --pipeline hr-tuned
    """
    if bool(agent) == bool(pipeline):
        raise click.UsageError("name what to apply the file to: --agent NAME (one agent) "
                               "or --pipeline NAME (a custom pipeline), not both")
    source = str(file)
    data, root = _read(file, source)
    try:
        result = _apply_agent(agent, data) if agent else _apply_pipeline(str(pipeline), data)
    except ApiError as exc:
        line = message_line(exc.message, root)
        raise click.ClickException(f"{source}:{line}: {exc.message}" if line else exc.message) \
            from None
    if as_json:
        print_json(result)
        return
    info = result.get("pipeline") or result
    what = f"agent {result['name']}: pipeline" if agent else "pipeline"
    say(f"Applied {source} to {what} {counts_line(info['name'], info['counts'])}.")
    if info.get("policy"):
        say(f"policy: {fmt_value(info['policy'])}")
    warn_all(result, lambda warning: _at_line(source, root, warning))


def _at_line(source: str, root: Any, message: str) -> str:
    """`file:line: message` when the message's leading path is written in the file."""
    line = message_line(message, root)
    return f"{source}:{line}: {message}" if line else f"{source}: {message}"


def _read(file: Path, source: str) -> tuple[dict[str, Any], Any]:
    try:
        data, root = load_yaml(file.read_text(), source)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{source}: cannot read: {exc}") from None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not isinstance(data, dict) or not data:
        raise click.ClickException(f"{source}: expected a mapping with preset, overrides "
                                   "and/or policy")
    for key, value in data.items():
        problem = _key_problem(key, value)
        if problem:
            line = node_line(root, str(key))
            raise click.ClickException(f"{source}:{line}: {key}: {problem}")
    return data, root


def _key_problem(key: Any, value: Any) -> str | None:
    if key not in FILE_KEYS:
        return f"unknown key; expected one of {', '.join(FILE_KEYS)}"
    if key == "preset":
        return None if isinstance(value, str) else "expected a pipeline name"
    return None if isinstance(value, dict | None) else "expected a mapping"


def _apply_agent(name: str, data: dict[str, Any]) -> dict[str, Any]:
    body = {"overrides": data.get("overrides") or {}}
    body.update({key: data[key] for key in ("preset", "policy") if key in data})
    result: dict[str, Any] = AdminClient().patch(agent_path(name, "pipeline"), body)
    return result


def _apply_pipeline(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """PUT the pipeline: the file's preset and overrides; an existing pipeline keeps its
    other settings (base unless the file names a preset, enables, disables, description)."""
    client = AdminClient()
    spec: dict[str, Any] = {}
    try:
        view = client.get(pipeline_path(name))
        if view["kind"] == "preset":
            raise click.ClickException(
                f"{name} is a preset and cannot be changed: apply the file to a custom "
                f"pipeline (--pipeline NEW-NAME, based on {view['name']} with `preset: "
                f"{view['name']}`) or to an agent (--agent NAME)")
        spec = dict(view.get("spec") or {})
    except ApiError as exc:
        if exc.status != 404:
            raise
    overrides = dict(data.get("overrides") or {})
    if "policy" in data:
        overrides["policy"] = data["policy"]
    spec.update(base=data.get("preset") or spec.get("base") or "standard", overrides=overrides)
    result: dict[str, Any] = client.call("PUT", pipeline_path(name), body=spec)
    return result
