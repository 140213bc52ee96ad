"""`tappass test`: scenario files and the interactive dry run, with custom pipelines and
agents read from a real gateway. Nothing is sent to a provider: the echo model answers."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Run
from tests.support.steps import unimplemented

TESTS = Path(__file__).parent.parent
NewAgent = Callable[..., tuple[str, str]]
UniqueName = Callable[[str], str]
SUMMARY = re.compile(r"^\d+ expectations? checked: \d+ passed, \d+ failed(, \d+ skipped)?$",
                     re.MULTILINE)
NUL_ALLOWED = 'calls:\n  - name: nul\n    prompt: "a \\0 b"\n    expect: allow\n'


def summary(output: str) -> str:
    lines = SUMMARY.findall(output)
    assert len(lines) == 1, output
    return SUMMARY.search(output).group(0)  # type: ignore[union-attr]


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_seed_scenario_file_runs_its_tool_calls(run: Run,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Search is allowed; the send with a name and a salary is blocked pii_detected."""
    monkeypatch.chdir(TESTS)
    result = run(*shlex.split("tappass test scenarios/hr-agent.yaml")[1:])
    assert result.exit_code == 0, result.output
    assert summary(result.output) == "2 expectations checked: 2 passed, 0 failed"
    assert re.search(r"^✓ gmail\.search\s+expected allow, got allow$", result.output,
                     re.MULTILINE)
    assert re.search(r"^✓ gmail\.send\s+expected block \(pii_detected\), got block at "
                     r"tool_call_scan: pii_detected in tool 'gmail_send' argument 'body': "
                     r"PERSON$", result.output, re.MULTILINE)
    assert "Nothing leaves this machine" in result.output


def test_allow_empty_does_not_excuse_a_failure(run: Run) -> None:
    observe = ("--flags", "mode=observe")  # the send is only a would-block: its check fails
    result = run("test", str(TESTS / "scenarios" / "hr-agent.yaml"), "--allow-empty", *observe)
    assert result.exit_code == 1, result.output
    as_json = run("test", str(TESTS / "scenarios" / "hr-agent.yaml"), "--json", *observe)
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["summary"]["checked"] == 2


def test_help_documents_the_exit_codes(run: Run) -> None:
    out = " ".join(run("test", "--help").output.split())
    assert "1 an expectation failed" in out
    assert "3 no expectation was checked at all" in out and "--allow-empty" in out


def test_expected_pii_block_passes_and_exits_0(run: Run,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TESTS)
    result = run("test", "scenarios/hr-agent-chat.yaml")
    assert result.exit_code == 0, result.output
    out = result.output
    assert summary(out) == "5 expectations checked: 5 passed, 0 failed"
    assert out.rstrip().splitlines()[-1] == "5 expectations checked: 5 passed, 0 failed"
    assert re.search(r"^✓ salary figures with a name\s+expected block \(pii_detected\), got "
                     r"block at detect_pii: PII detected in request$", out, re.MULTILINE)
    assert re.search(r"^✓ NUL character\s+expected block \(NUL\), got block at validate_input: "
                     r"invalid input: input contains NUL characters$", out, re.MULTILINE)
    assert re.search(r"^✓ salary question\s+expected allow, got allow$", out, re.MULTILINE)


def test_json_results(run: Run) -> None:
    result = run("test", str(TESTS / "scenarios" / "hr-agent-chat.yaml"), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["summary"] == {"passed": 5, "failed": 0, "skipped": 0, "checked": 5}
    assert [r["status"] for r in data["results"]] == ["passed", "passed", "passed", "passed",
                                                      "passed"]
    nul = data["results"][4]
    assert (nul["outcome"], nul["step"]) == ("block", "validate_input")
    assert nul["steps"][0] == {"step": "validate_input", "phase": "before", "verdict": "block",
                               "duration_ms": nul["steps"][0]["duration_ms"],
                               "reason": nul["reason"]}
    assert data["results"][2]["answer"] == "Summarise the salary bands for the HR team"


def test_flags_option_observe_mode_reports_would_block(run: Run) -> None:
    result = run("test", str(TESTS / "scenarios" / "hr-agent-chat.yaml"), "--flags",
                 "mode=observe")
    assert result.exit_code == 1
    assert summary(result.output) == "5 expectations checked: 2 passed, 3 failed"
    assert "would block at validate_input: invalid input: input contains NUL characters" \
        in result.output


def test_pipeline_option(run: Run, tmp_path: Path) -> None:
    text = 'calls:\n  - prompt: "\\0"\n    expect: allow\n'  # starter observes by default
    result = run("test", write(tmp_path, text), "--pipeline", "starter")
    assert result.exit_code == 0, result.output
    assert "pipeline starter (7 before / 2 call / 2 after = 11 steps), flags mode=observe" \
        in result.output
    assert summary(result.output) == "1 expectation checked: 1 passed, 0 failed"


def test_custom_pipeline_is_read_from_the_gateway(run: Run, admin: httpx.Client,
                                                  tmp_path: Path,
                                                  unique_name: UniqueName) -> None:
    name = unique_name("lenient")
    response = admin.post("/admin/pipelines", json={"name": name, "base": "standard",
                                                    "disable": ["validate_input"]})
    assert response.status_code == 201, response.text
    result = run("test", write(tmp_path, f"pipeline: {name}\n{NUL_ALLOWED}"))
    assert result.exit_code == 0, result.output
    assert f"pipeline {name} (22 before / 5 call / 10 after = 37 steps)" in result.output
    assert summary(result.output) == "1 expectation checked: 1 passed, 0 failed"


def test_agent_pipeline_overrides_and_flags_come_from_the_gateway(
        run: Run, admin: httpx.Client, new_agent: NewAgent, tmp_path: Path) -> None:
    name, _ = new_agent("hr", preset="regulated", flags={"mode": "observe"})
    response = admin.patch(f"/v1/agents/{name}/pipeline", json={"overrides": {
        "steps": {"validate_input": {"options": {"max_input_chars": 10}}}}})
    assert response.status_code == 200, response.text
    text = f"agent: {name}\ncalls:\n  - prompt: {'x' * 20}\n    expect: allow\n"
    result = run("test", write(tmp_path, text), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["pipeline"], data["flags"]["mode"]) == ("regulated", "observe")
    [call] = data["results"]
    assert call["would_block"] == [{"step": "validate_input", "reason": "invalid input: input "
                                    "of 20 characters exceeds the limit of 10"}]


def test_unknown_pipeline_or_agent(run: Run, tmp_path: Path) -> None:
    result = run("test", write(tmp_path, f"pipeline: nope\n{NUL_ALLOWED}"))
    assert result.exit_code == 1
    assert "unknown preset 'nope'" in result.output
    result = run("test", write(tmp_path, f"agent: nobody\n{NUL_ALLOWED}"))
    assert result.exit_code == 1
    assert "agent 'nobody' not found" in result.output


def test_bad_file_exits_2_with_its_line(run: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "calls:\n  - prompt: hi\n    expect: maybe\n", "bad.yaml")
    result = run("test", path)
    assert result.exit_code == 2
    assert "bad.yaml:3: calls[0].expect: expected allow or block" in result.output


def test_bad_flags_exit_2(run: Run) -> None:
    result = run("test", "--flags", "mode=loud")
    assert result.exit_code == 2
    assert "invalid value 'loud' for flag 'mode'" in result.output


def test_interactive_seed_command(run: Run) -> None:
    result = run(*shlex.split("tappass test")[1:], input="hello world\nbad \x00 byte\nquit\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "pipeline standard (23 before / 5 call / 10 after = 38 steps)" in out
    assert "> hello world\n" in out
    assert re.search(r"^before\s+validate_input\s+allow\s+\d+\.\d{3}\s*$", out, re.MULTILINE)
    assert re.search(r"^call\s+llm_call\s+allow\s+\d+\.\d{3}\s*$", out, re.MULTILINE)
    assert re.search(r"^before\s+detect_shell_bleed\s+allow\s+\d+\.\d{3}\s*$", out, re.MULTILINE)
    assert "unavailable" not in out    # every registered step is implemented
    assert max(map(len, out.splitlines()[2:])) <= 100
    assert re.search(r"^✓ allow \(\d+\.\d{3} ms\)$", out, re.MULTILINE)
    assert "  answer: hello world\n" in out
    assert re.search(r"^✗ block at validate_input: invalid input: input contains NUL "
                     r"characters \(\d+\.\d{3} ms\)$", out, re.MULTILINE)


def test_interactive_reports_a_step_without_implementation_in_100_columns(run: Run) -> None:
    with unimplemented("detect_shell_bleed"):    # the dry run compiles its pipeline in-process
        out = run("test", input="hello world\nquit\n").output
        wide = run("test", "--wide", input="hello world\nquit\n").output
    assert re.search(r"^before\s+detect_shell_bleed\s+unavailable\s+0\.000\s+implementation "
                     r"not available[^\n]*…$", out, re.MULTILINE)  # shortened to fit 100 columns
    assert max(map(len, out.splitlines()[2:])) <= 100
    assert re.search(r"^before\s+detect_shell_bleed\s+unavailable\s+0\.000\s+implementation "
                     r"not available in this version\s*$", wide, re.MULTILINE)
    assert re.search(r"^✓ allow \(\d+\.\d{3} ms\)$", out, re.MULTILINE)  # never blocks


def test_interactive_ends_at_eof_and_takes_flags(run: Run) -> None:
    result = run("test", "--flags", "mode=observe", input="a \x00 b\n")
    assert result.exit_code == 0, result.output
    assert re.search(r"^before\s+validate_input\s+would_block\s+", result.output, re.MULTILINE)
    assert "  would block at validate_input: invalid input: input contains NUL characters" \
        in result.output


def test_interactive_json_lines(run: Run) -> None:
    result = run("test", "--json", "--pipeline", "starter", input="hi\n\nexit\nnot read\n")
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    data = json.loads(line)
    assert (data["outcome"], data["answer"]) == ("allow", "hi")
    assert [s["step"] for s in data["steps"]][:3] == ["validate_input", "rate_limit",
                                                     "budget_enforcement"]
