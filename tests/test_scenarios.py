"""`tappass.scenarios`: scenario files parse with errors naming file, line and path;
`expect_reason` matching; dry runs through real pipelines with the echo model only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tappass.errors import ConfigError
from tappass.pipeline.catalog import build_custom
from tappass.pipeline.definition import load_preset
from tappass.pipeline.step import Verdict
from tappass.scenarios import (
    CallResult,
    ScenarioError,
    Target,
    load_scenario,
    parse_scenario,
    reason_matches,
    run_scenario,
    tally,
)
from tappass.yaml_source import load_yaml, message_line
from tests.support.steps import unimplemented

SCENARIOS = Path(__file__).parent / "scenarios"
STANDARD = Target(load_preset("standard"), {"mode": "enforce"})

# fmt: off
PARSE_ERRORS = [
    ("- 1\n", "s.yaml: expected a mapping with a 'calls' list"),
    ("colour: red\ncalls: [{prompt: hi, expect: allow}]\n", "s.yaml:1: colour: unknown key"),
    ("calls: []\n", "s.yaml:1: calls: expected a non-empty list of calls"),
    ("calls:\n  - prompt: hi\n", "s.yaml:2: calls[0].expect: expected allow or block"),
    ("calls:\n  - prompt: hi\n    expect: maybe\n",
     "s.yaml:3: calls[0].expect: expected allow or block"),
    ("calls:\n  - expect: allow\n",
     "s.yaml:2: calls[0]: expected prompt, messages, or provider/action/params"),
    ("calls:\n  - prompt: hi\n    provider: gmail\n    expect: allow\n",
     "s.yaml:2: calls[0]: a call is a chat call (prompt or messages) or a tool call"),
    ("calls:\n  - prompt: hi\n    expect: allow\n    colour: red\n",
     "s.yaml:4: calls[0].colour: unknown key; expected one of name, expect"),
    ("calls:\n  - prompt: hi\n    expect: allow\n  - messages:\n      - role: 7\n"
     "        content: hi\n    expect: allow\n",
     "s.yaml:5: calls[1].messages[0].role: expected a string"),
    ("calls:\n  - prompt: hi\n    expect: allow\n    expect_reason: NUL\n",
     "s.yaml:4: calls[0].expect_reason: only meaningful with expect: block"),
    ("calls:\n  - provider: gmail\n    expect: allow\n",
     "s.yaml:2: calls[0].action: required for a tool call"),
    ("calls:\n  - provider: gmail\n    action: send\n    params: [1]\n    expect: allow\n",
     "s.yaml:4: calls[0].params: expected a mapping of parameters"),
    ("flags: mode=loud\ncalls: [{prompt: hi, expect: allow}]\n",
     "s.yaml:1: flags: invalid value 'loud' for flag 'mode'"),
    ("calls:\n  - prompt: hi\n    expect: allow\n    flags:\n      budget: lots\n",
     "s.yaml:4: calls[0].flags: invalid value 'lots' for flag 'budget'"),
    ("pipeline: standard\npreset: regulated\ncalls: [{prompt: hi, expect: allow}]\n",
     "s.yaml:2: preset: conflicts with pipeline 'standard'"),
    ("overrides:\n  categories:\n    before:\n      data_protection:\n        steps:\n"
     "          detect_pii:\n            options:\n              allowlist: Anna Router\n"
     "calls: [{prompt: hi, expect: allow}]\n",
     "s.yaml:8: overrides.categories.before.data_protection.steps.detect_pii.options."
     "allowlist: expected a list of strings"),
    ("calls:\n  - prompt: [hi\n", "s.yaml:3:1: invalid YAML"),
]
# fmt: on


@pytest.mark.parametrize(("text", "message"), PARSE_ERRORS)
def test_parse_errors_name_file_line_and_path(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text, "s.yaml")
    assert message in str(caught.value)


def test_seed_scenario_file_parses() -> None:
    scenario = load_scenario(SCENARIOS / "hr-agent.yaml")
    search, send = scenario.calls
    assert (search.kind, search.tool["action"], search.expect) == ("tool", "search", "allow")
    assert send.tool == {"provider": "gmail", "action": "send", "params": {
        "to": "external@competitor.com", "body": "Here are the salary figures: John $150k"}}
    assert (send.expect, send.expect_reason, send.line) == ("block", "pii_detected", 8)


def test_file_settings_parse() -> None:
    scenario = parse_scenario(
        "preset: regulated\nagent: hr-bot\nflags: mode=observe, budget=dev\n"
        "calls:\n  - prompt: hi\n    model: gpt-4o\n    flags: {mode: off}\n    expect: allow\n"
        "    name: greeting\n", "s.yaml")
    call = scenario.calls[0]
    assert (scenario.pipeline, scenario.agent) == ("regulated", "hr-bot")
    assert scenario.flags == {"mode": "observe", "budget": "dev"}
    assert (call.name, call.body["model"], call.flags) == ("greeting", "gpt-4o", {"mode": "off"})
    assert call.body["messages"] == [{"role": "user", "content": "hi"}]


def test_unreadable_file() -> None:
    with pytest.raises(ScenarioError, match="missing.yaml: cannot read"):
        load_scenario(Path("missing.yaml"))


def test_message_line_maps_a_path_and_top_level_policy() -> None:
    text = "preset: regulated\npolicy:\n  require_human_approval:\n    - classification: X\n"
    _, root = load_yaml(text, "f.yaml")
    bad = "overrides.policy.require_human_approval[0].classification: expected one of ..."
    assert message_line(bad, root) == 4
    assert message_line("preset: unknown preset 'x'", root) == 1
    assert message_line("agent 'x' not found", root) is None
    assert message_line("overrides.steps.x: unknown step", root) is None


# fmt: off
@pytest.mark.parametrize(("expected", "step", "reason", "findings", "matches"), [
    ("validate_input", "validate_input", "invalid input", (), True),
    ("budget", "budget_enforcement", "over budget", (), True),            # alias
    ("check_budget", "budget_enforcement", "over budget", (), True),      # alias
    ("pii_detected", "detect_pii", "blocked", (), True),
    ("secrets_detected", "detect_secrets", "blocked", (), True),
    ("injection_detected", "detect_prompt_injection", "blocked", (), True),  # via alias
    ("nul", "validate_input", "input contains NUL characters", (), True),
    ("EMAIL_ADDRESS", "detect_pii", "personal data", ("EMAIL_ADDRESS",), True),
    ("pii_detected", "validate_input", "invalid input", (), False),
    ("detect_pii", "validate_input", "invalid input", (), False),
    ("salary", "validate_input", "invalid input", ("EMAIL_ADDRESS",), False),
])
# fmt: on
def test_reason_matching(expected: str, step: str, reason: str, findings: tuple[str, ...],
                         matches: bool) -> None:
    assert reason_matches(expected, step, reason, findings) is matches


async def results_of(text: str, target: Target = STANDARD) -> list[CallResult]:
    return await run_scenario(parse_scenario(text, "s.yaml"), target)


async def test_allow_scenario_passes_with_every_step_timed() -> None:
    [result] = await results_of("calls:\n  - prompt: hello there\n    expect: allow\n")
    assert result.status == "passed" and result.run is not None
    assert (result.run.outcome, result.run.answer) == ("allow", "hello there")
    verdicts = {r.step: r.verdict for r in result.run.steps}
    assert verdicts["validate_input"] is Verdict.ALLOW
    assert verdicts["llm_call"] is Verdict.ALLOW
    assert verdicts["detect_pii"] is Verdict.ALLOW
    assert verdicts["classify_data"] is Verdict.ALLOW
    assert verdicts["detect_shell_bleed"] is Verdict.ALLOW
    assert len(result.run.steps) == 38
    assert not [r.step for r in result.run.steps if r.verdict is Verdict.UNAVAILABLE]
    assert all(r.duration_ms >= 0 for r in result.run.steps)


async def test_a_registered_step_without_implementation_is_reported_not_skipped() -> None:
    with unimplemented("detect_shell_bleed"):    # the pipeline is compiled inside the run
        [result] = await results_of("calls:\n  - prompt: hello there\n    expect: allow\n")
    assert result.status == "passed" and result.run is not None
    verdicts = {r.step: r.verdict for r in result.run.steps}
    assert verdicts["detect_shell_bleed"] is Verdict.UNAVAILABLE
    assert [r.step for r in result.run.steps if r.verdict is Verdict.UNAVAILABLE] == \
        ["detect_shell_bleed"]
    assert len(result.run.steps) == 38


async def test_nul_character_is_blocked_by_validate_input() -> None:
    [result] = await results_of(
        'calls:\n  - prompt: "a \\0 b"\n    expect: block\n    expect_reason: NUL\n')
    assert result.status == "passed" and result.run is not None
    assert (result.run.outcome, result.run.step) == ("block", "validate_input")
    assert "NUL" in result.run.reason
    assert result.run.steps[-1].step == "validate_input"  # enforce stops at the block


async def test_budget_flag_blocks_gpt_4o_and_nothing_leaves_the_machine(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-be-used")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    blocked, allowed = await results_of(
        "calls:\n  - prompt: hi\n    model: gpt-4o\n    flags: budget=custom:0.0000001:1\n"
        "    expect: block\n    expect_reason: budget_enforcement\n"
        "  - prompt: hi\n    model: gpt-4o\n    expect: allow\n")
    assert blocked.status == "passed" and blocked.run is not None
    assert blocked.run.step == "budget_enforcement"
    assert allowed.status == "passed" and allowed.run is not None
    assert allowed.run.answer == "hi"  # the echo model answered, not the provider


async def test_observe_mode_allows_and_reports_would_block() -> None:
    observe = Target(load_preset("standard"), {"mode": "observe"})
    [result] = await results_of('calls:\n  - prompt: "\\0"\n    expect: block\n', observe)
    assert result.status == "failed" and result.run is not None
    assert result.run.outcome == "allow"
    assert [r.step for r in result.run.would_block] == ["validate_input"]
    assert "observe mode" in result.note


async def test_expected_pii_block_passes_now_that_detect_pii_runs() -> None:
    [result] = await results_of("calls:\n  - prompt: 'Here are the salary figures: John $150k'"
                                "\n    expect: block\n    expect_reason: pii_detected\n")
    assert result.status == "passed", result.note


async def test_expected_exfiltration_block_passes_now_that_check_exfiltration_runs() -> None:
    [result] = await results_of("calls:\n  - prompt: 'post it to https://pastebin.com/raw/x1'"
                                "\n    expect: block\n    expect_reason: exfiltration_detected\n")
    assert result.status == "passed", result.note


async def test_expected_block_fails_honestly_while_its_step_is_unavailable() -> None:
    with unimplemented("taint_tracking"):
        [result] = await results_of("calls:\n  - prompt: 'copy the tainted value'"
                                    "\n    expect: block\n    expect_reason: taint_check\n")
    assert result.status == "failed"
    assert result.note == ("taint_tracking did not run: implementation not available in "
                           "this version")


async def test_wrong_reason_fails() -> None:
    [result] = await results_of(
        'calls:\n  - prompt: "\\0"\n    expect: block\n    expect_reason: pii_detected\n')
    assert result.status == "failed"
    assert "another reason" in result.note


async def test_seed_tool_calls_run_through_the_tool_checks() -> None:
    """Search passes; the send with a name and a salary is blocked pii_detected."""
    scenario = load_scenario(SCENARIOS / "hr-agent.yaml")
    search, send = await run_scenario(scenario, STANDARD)
    assert search.status == "passed" and search.run is not None
    assert [r.step for r in search.run.steps] == ["tool_permissions", "tool_constraints",
                                                  "tool_call_scan"]
    assert send.status == "passed" and send.run is not None and send.run.outcome == "block"
    assert send.run.step == "tool_call_scan" and "pii_detected" in (send.run.reason or "")
    assert tally([search, send]) == {"passed": 2, "failed": 0, "skipped": 0, "checked": 2}


async def test_seed_send_is_blocked_pii_detected_once_a_pii_detector_is_plugged_in(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The plumbing for the seed's expectation: a detector registered as `pii` (here a
    stand-in that finds the name) makes tool_call_scan block with reason pii_detected."""
    from tappass.pipeline.step import Finding
    from tappass.tools import detectors

    def stand_in(text: str) -> list[Finding]:
        start = text.find("John")
        return [Finding("PERSON", start, start + 4, 0.9)] if start >= 0 else []

    monkeypatch.setattr(detectors, "named_detector",
                        lambda name: stand_in if name == "pii" else None)
    monkeypatch.setattr("tappass.tools.scanning.named_detector", detectors.named_detector)
    search, send = await run_scenario(load_scenario(SCENARIOS / "hr-agent.yaml"), STANDARD)
    assert (search.status, send.status) == ("passed", "passed"), send.note
    assert send.run is not None and send.run.step == "tool_call_scan"
    assert send.run.reason == "pii_detected in tool 'gmail_send' argument 'body': PERSON"


async def test_tool_call_blocked_by_the_email_flag_names_the_step() -> None:
    text = ("calls:\n  - provider: gmail\n    action: send\n    params: {to: a@rival.com, "
            "body: hi}\n    expect: block\n    expect_reason: tool_constraints\n")
    target = Target(load_preset("standard"), {"mode": "enforce", "email": "internal:corp.com"})
    [result] = await results_of(text, target)
    assert result.status == "passed", result.note
    assert result.run is not None and "outside corp.com" in result.run.reason


async def test_repository_example_is_the_seed_scenario() -> None:
    example = load_scenario(Path(__file__).parents[1] / "scenarios" / "hr-agent.yaml")
    seed = load_scenario(SCENARIOS / "hr-agent.yaml")
    assert [(c.tool, c.expect, c.expect_reason) for c in example.calls] == \
        [(c.tool, c.expect, c.expect_reason) for c in seed.calls]


async def test_custom_pipeline_definition_runs() -> None:
    custom = build_custom("no-validation", {"base": "standard", "disable": ["validate_input"]})
    target = Target(custom, {"mode": "enforce"})
    [result] = await results_of('calls:\n  - prompt: "\\0"\n    expect: allow\n', target)
    assert result.status == "passed" and result.run is not None
    assert "validate_input" not in {r.step for r in result.run.steps}
