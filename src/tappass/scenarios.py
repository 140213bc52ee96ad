"""Scenario files for `tappass test`: parse and check them, then dry-run their calls.

A file (seed 003) is a mapping with `calls:` and optional `pipeline:` (or `preset:`), `agent:`,
`flags:`, `overrides:`. A call is a chat call (`prompt` or `messages`, optional `model`, `flags`)
or a tool call (`provider`, `action`, `params`), with `expect: allow|block`, optional
`expect_reason` and `name`. Errors name the file, line and path. The dry run runs before ->
call -> after on in-memory services with every model answered by the demo echo provider, so
nothing leaves the machine. A tool call runs as the tool `<provider>_<action>` (`gmail_send`)
with `params` as its arguments through the pipeline's tool checks, as `POST /v1/tools/govern`
decides it.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from tappass.app import start_services, stop_services
from tappass.errors import ConfigError, ProviderError, RequestError, StepError
from tappass.keys import new_id
from tappass.pipeline.context import Context, StepResult
from tappass.pipeline.definition import PipelineDefinition, compile_pipeline
from tappass.pipeline.overrides import normalize
from tappass.pipeline.registry import ALIASES, BY_ID, resolve_id
from tappass.pipeline.runner import run_phase
from tappass.pipeline.step import Phase, Verdict
from tappass.policy.flags import FlagError, parse_flags, validate_flags
from tappass.providers.base import Provider
from tappass.providers.echo import MODEL_ID as ECHO_MODEL
from tappass.providers.registry import Providers
from tappass.server.chat_request import parse_chat_request
from tappass.settings import load_settings
from tappass.storage.base import AgentRecord
from tappass.tools.calls import call_from
from tappass.tools.gate import Outcome, ToolRequest, checks, decide
from tappass.yaml_source import load_yaml, message_line, node_line

_TOP = ("calls", "pipeline", "preset", "agent", "flags", "overrides", "name", "description")
_COMMON = ("name", "expect", "expect_reason")
_CHAT, _TOOL = ("prompt", "messages", "model", "flags"), ("provider", "action", "params")


class ScenarioError(ConfigError):
    """A scenario file that cannot be used; the message names the file, line and path."""


@dataclass(frozen=True)
class Call:
    index: int
    kind: str                                   # chat | tool
    expect: str                                 # allow | block
    expect_reason: str | None = None
    name: str | None = None
    line: int | None = None
    body: dict[str, Any] = field(default_factory=dict)    # chat: the request body
    flags: dict[str, str] = field(default_factory=dict)
    tool: dict[str, Any] = field(default_factory=dict)    # tool: provider, action, params


@dataclass(frozen=True)
class Scenario:
    source: str
    calls: tuple[Call, ...]
    pipeline: str | None = None
    agent: str | None = None
    flags: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, Any] | None = None


class _Doc:
    """The file being parsed: builds errors that carry `file:line: path: problem`."""

    def __init__(self, source: str, root: yaml.Node | None) -> None:
        self.source, self.root = source, root

    def fail(self, path: str, problem: str, at: str | None = None) -> ScenarioError:
        line = node_line(self.root, path if at is None else at)
        where = f"{self.source}:{line}" if line else self.source
        return ScenarioError(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")

    def keys(self, raw: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in raw:
            if key not in allowed:
                raise self.fail(f"{path}{key}",
                                f"unknown key; expected one of {', '.join(allowed)}")

    def text(self, raw: dict[str, Any], key: str, path: str = "") -> str | None:
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(f"{path}{key}", "expected a non-empty string")
        return value

    def flags(self, raw: Any, path: str) -> dict[str, str]:
        try:
            if raw is None or isinstance(raw, str):
                return parse_flags(raw or "")
            if isinstance(raw, dict):  # YAML reads `mode: off` as false
                return validate_flags({k: "off" if v is False else v for k, v in raw.items()})
        except FlagError as exc:
            raise self.fail(path, str(exc)) from None
        raise self.fail(path, 'expected a mapping or a "key=value, key=value" string')


def parse_scenario(text: str, source: str) -> Scenario:
    data, root = load_yaml(text, source)
    doc = _Doc(source, root)
    if not isinstance(data, dict):
        raise doc.fail("", "expected a mapping with a 'calls' list")
    doc.keys(data, _TOP, "")
    if not isinstance(data.get("calls"), list) or not data["calls"]:
        raise doc.fail("calls", "expected a non-empty list of calls")
    pipeline, preset = doc.text(data, "pipeline"), doc.text(data, "preset")
    if pipeline and preset and pipeline != preset:
        raise doc.fail("preset", f"conflicts with pipeline {pipeline!r}; give one of them")
    try:
        normalize(data.get("overrides"))
    except ConfigError as exc:
        line = message_line(str(exc), root)
        raise ScenarioError(f"{source}:{line}: {exc}" if line else f"{source}: {exc}") from None
    return Scenario(source, tuple(_call(doc, raw, i) for i, raw in enumerate(data["calls"])),
                    pipeline or preset, doc.text(data, "agent"),
                    doc.flags(data.get("flags"), "flags"), data.get("overrides"))


def load_scenario(path: Path) -> Scenario:
    try:
        return parse_scenario(path.read_text(), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None


def _call(doc: _Doc, raw: Any, i: int) -> Call:
    path = f"calls[{i}]"
    if not isinstance(raw, dict):
        raise doc.fail(path, "expected a mapping with expect and a prompt or a tool call")
    tool, chat = any(k in raw for k in _TOOL), "prompt" in raw or "messages" in raw
    if tool == chat:
        raise doc.fail(path, "a call is a chat call (prompt or messages) or a tool call "
                             "(provider, action, params), not both" if tool else
                       "expected prompt, messages, or provider/action/params")
    doc.keys(raw, _COMMON + (_TOOL if tool else _CHAT), f"{path}.")
    expect, reason = raw.get("expect"), doc.text(raw, "expect_reason", f"{path}.")
    if expect not in ("allow", "block"):
        raise doc.fail(f"{path}.expect", "expected allow or block",
                       at=f"{path}.expect" if "expect" in raw else path)
    if reason and expect != "block":
        raise doc.fail(f"{path}.expect_reason", "only meaningful with expect: block")
    common: dict[str, Any] = {"index": i, "expect": expect, "expect_reason": reason,
                              "name": doc.text(raw, "name", f"{path}."),
                              "line": node_line(doc.root, path)}
    if tool:
        return Call(kind="tool", tool=_tool(doc, raw, path), **common)
    return Call(kind="chat", body=_chat_body(doc, raw, path),
                flags=doc.flags(raw.get("flags"), f"{path}.flags"), **common)


def _tool(doc: _Doc, raw: dict[str, Any], path: str) -> dict[str, Any]:
    for key in ("provider", "action"):
        if not doc.text(raw, key, f"{path}."):
            raise doc.fail(f"{path}.{key}", "required for a tool call", at=path)
    if not isinstance(raw.get("params") or {}, dict):
        raise doc.fail(f"{path}.params", "expected a mapping of parameters")
    return {"provider": raw["provider"], "action": raw["action"], "params": raw.get("params")}


def _chat_body(doc: _Doc, raw: dict[str, Any], path: str) -> dict[str, Any]:
    if "prompt" in raw and ("messages" in raw or not isinstance(raw["prompt"], str)):
        raise doc.fail(f"{path}.prompt", "expected a string (and no messages)")
    messages = raw["messages"] if "messages" in raw else [{"role": "user",
                                                            "content": raw["prompt"]}]
    try:
        body = {"model": raw.get("model", ECHO_MODEL), "messages": messages}
        return parse_chat_request(orjson.dumps(body))
    except RequestError as exc:
        raise doc.fail(f"{path}.{exc.field}", str(exc).split(": ", 1)[-1]) from None
    except TypeError:
        raise doc.fail(f"{path}.messages", "expected plain strings and mappings") from None


@dataclass(frozen=True)
class Target:
    """What a dry run runs: the pipeline, the flags (each call's come on top), the agent."""

    definition: PipelineDefinition
    flags: dict[str, str]
    agent: str = "tappass-test"


@dataclass(frozen=True)
class Execution:
    """One call through the pipeline: outcome allow | block | error, and each step's result."""

    outcome: str
    step: str | None
    reason: str
    steps: tuple[StepResult, ...]
    duration_ms: float
    answer: str | None = None

    @property
    def would_block(self) -> list[StepResult]:
        return [r for r in self.steps if r.verdict is Verdict.WOULD_BLOCK]


@dataclass(frozen=True)
class CallResult:
    call: Call
    status: str                         # passed | failed | skipped
    note: str = ""                      # why it failed or was skipped
    run: Execution | None = None


class _EchoOnly(Providers):
    """Every model is answered by the demo echo provider: a dry run never leaves the machine."""

    def route(self, model: str) -> tuple[Provider, str]:
        return self.echo, model


class DryRun:
    """The gateway's services in memory, running calls through one pipeline."""

    def __init__(self, target: Target) -> None:
        self.target = target

    async def open(self) -> DryRun:
        settings = load_settings(storage="memory", admin_api_key=secrets.token_urlsafe(24))
        self.services = await start_services(settings)
        self.services.providers = _EchoOnly(settings)   # before compiling: steps keep it
        self.pipeline = compile_pipeline(self.target.definition, self.services)
        now, name = datetime.now(UTC), self.target.agent
        self.agent = AgentRecord(f"ag_{name}", name, self.target.definition.name, {}, True,
                                 "", "", now, now)
        return self

    async def close(self) -> None:
        await stop_services(self.services)

    async def execute(self, call: Call) -> Execution:
        ctx = Context(audit_id=new_id("ae"), services=self.services, agent=self.agent,
                      pipeline=self.pipeline, flags={**self.target.flags, **call.flags},
                      session_id=None, body=copy.deepcopy(call.body))
        outcome, step, reason = "allow", None, ""
        try:
            block = (await run_phase(ctx, Phase.BEFORE) or await run_phase(ctx, Phase.CALL)
                     or await run_phase(ctx, Phase.AFTER))
            if block is not None:
                outcome, step, reason = "block", block.step, block.decision.reason
        except (StepError, ProviderError) as exc:
            outcome, step, reason = "error", getattr(exc, "step_id", None), str(exc)
        message = ((ctx.response or {}).get("choices") or [{}])[0].get("message") or {}
        return Execution(outcome, step, reason, tuple(ctx.results),
                         round((time.perf_counter() - ctx.started) * 1000, 3),
                         message.get("content") if outcome == "allow" else None)

    def execute_tool(self, call: Call) -> Execution:
        """A tool call through the tool checks of the pipeline (the decision API's path)."""
        started = time.perf_counter()
        flags = dict(self.target.flags)
        mode = flags.get("mode", "enforce")
        tool = call_from(f"{call.tool['provider']}_{call.tool['action']}",
                         call.tool["params"] or {})
        steps = checks(self.pipeline)
        outcome = Outcome(tool) if mode == "off" else \
            decide(steps, ToolRequest(self.agent, flags), tool)
        results = [_tool_result(step, outcome, mode, dict(steps)[step])
                   for step in outcome.checked]
        decision = outcome.decision
        blocked = outcome.blocked and mode == "enforce" and decision is not None
        return Execution("block" if blocked else "allow", outcome.step if blocked else None,
                         decision.reason if blocked and decision else "", tuple(results),
                         round((time.perf_counter() - started) * 1000, 3))

    async def run(self, call: Call) -> CallResult:
        if call.kind == "tool":
            return judge(call, self.execute_tool(call))
        return judge(call, await self.execute(call))


def _tool_result(step_id: str, outcome: Outcome, mode: str, step: Any) -> StepResult:
    """The StepResult of one tool check; a scan whose named detector is missing says so."""
    decision = outcome.decision
    if step_id == outcome.step and decision is not None:
        verdict = Verdict.BLOCK if mode == "enforce" else Verdict.WOULD_BLOCK
        return StepResult(step_id, Phase.CALL, verdict, 0.0, decision.reason,
                          decision.findings)
    missing = step.policy.unavailable() if hasattr(step, "policy") else []
    if missing:
        return StepResult(step_id, Phase.CALL, Verdict.FLAG, 0.0,
                          f"{step_id} did not check {', '.join(missing)}: detector not "
                          "available in this version")
    return StepResult(step_id, Phase.CALL, Verdict.ALLOW, 0.0)


async def run_scenario(scenario: Scenario, target: Target) -> list[CallResult]:
    dry = await DryRun(target).open()
    try:
        return [await dry.run(call) for call in scenario.calls]
    finally:
        await dry.close()


def judge(call: Call, run: Execution) -> CallResult:
    if run.outcome != call.expect:
        return CallResult(call, "failed", _miss(call, run), run)
    findings = {f.type for r in run.steps if r.step == run.step for f in r.findings}
    if call.expect_reason and not reason_matches(call.expect_reason, run.step, run.reason,
                                                 findings):
        return CallResult(call, "failed", f"blocked for another reason than "
                                          f"{call.expect_reason!r}", run)
    return CallResult(call, "passed", "", run)


def reason_matches(expected: str, step: str | None, reason: str,
                   finding_types: Iterable[str] = ()) -> bool:
    """The blocking step's id or alias, `<x>_detected` for `detect_<x>`, a finding type, or
    a case-insensitive part of the reason."""
    want = expected.strip()
    if step and expected_step(want) == step:
        return True
    return bool(want) and (want.lower() in reason.lower() or want in set(finding_types))


def expected_step(expected: str | None) -> str | None:
    """The step an `expect_reason` names, if it names one (`pii_detected` -> detect_pii)."""
    names = [expected or ""]
    if names[0].endswith("_detected"):
        names.append(f"detect_{names[0].removesuffix('_detected')}")
    for name in names:
        if name in BY_ID or name in ALIASES:
            return resolve_id(name)
    return None


def _miss(call: Call, run: Execution) -> str:
    if run.outcome == "error":
        return run.reason
    step = expected_step(call.expect_reason)
    if any(r.step == step and r.verdict is Verdict.UNAVAILABLE for r in run.steps):
        return f"{step} did not run: implementation not available in this version"
    unchecked = [r.reason for r in run.steps if r.verdict is Verdict.FLAG
                 and "not available in this version" in r.reason]
    if unchecked:
        return "; ".join(unchecked)
    return "observe mode: blocks are recorded, not enforced" if run.would_block else ""


def tally(results: Iterable[CallResult]) -> dict[str, int]:
    """passed, failed, skipped, and `checked`: the expectations actually evaluated."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for result in results:
        counts[result.status] += 1
    return {**counts, "checked": counts["passed"] + counts["failed"]}
