"""`tappass gov ...` against a real gateway: every seed command, with its effect checked
through the admin API, and YAML override files written exactly as the seeds show them."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.cli.conftest import Run
from tests.seeds import NAMES, snippet
from tests.support.gateway import ADMIN_KEY, Gateway

NewAgent = Callable[..., tuple[str, str]]
UniqueName = Callable[[str], str]

CREATE_CUSTOM_CLAIMS = """tappass gov create-pipeline custom-claims \\
  --base regulated \\
  --enable tool_poisoning_detection \\
  --disable debug_logging"""

SNIPPETS = {key: snippet(key) for key in NAMES}
PII_ALLOWLIST, ONBOARDING = SNIPPETS["pii"], SNIPPETS["onboarding"]
NO_MULTIMODAL = SNIPPETS["multimodal"]


def argv(line: str) -> list[str]:
    """A seed command line as the shell splits it (backslash-newline continues the line)."""
    return shlex.split(line.replace("\\\n", " "))[1:]


def write(tmp_path: Path, text: str, name: str = "hr.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_pipelines_lists_presets_with_counts(run: Run) -> None:
    result = run(*argv("tappass gov pipelines"))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()[2:]}
    assert rows["starter"] == ["preset", "7", "2", "2", "11"]
    assert rows["standard"] == ["preset", "23", "5", "10", "38", "yes"]
    assert rows["regulated"] == ["preset", "24", "8", "13", "45"]


@pytest.mark.parametrize(("name", "header"), [
    ("default", "standard: 23 before / 5 call / 10 after = 38 steps"),
    ("regulated", "regulated: 24 before / 8 call / 13 after = 45 steps"),
    ("starter", "starter: 7 before / 2 call / 2 after = 11 steps"),
])
def test_pipeline_shows_steps_by_phase_and_category(run: Run, admin: httpx.Client, name: str,
                                                    header: str) -> None:
    result = run("gov", "pipeline", name)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == header
    view = admin.get(f"/admin/pipelines/{name}").json()
    for phase, categories in view["categories"].items():
        assert f"\n{phase} ({view['counts'][phase]})\n" in result.output
        for category, steps in categories.items():
            assert f"\n  {category} ({len(steps)})\n" in result.output
    assert "    classify_data\n" in result.output
    if name != "starter":       # every registered step is implemented in this version
        assert re.search(r"^    detect_shell_bleed$", result.output, re.MULTILINE)
    assert "unavailable" not in result.output and "not implemented" not in result.output
    assert re.search(r"^    validate_input$", result.output, re.MULTILINE)


def test_pipeline_marks_a_registered_step_without_implementation(run_missing: Run) -> None:
    result = run_missing("gov", "pipeline", "regulated")    # detect_shell_bleed not built
    assert result.exit_code == 0, result.output
    assert "    detect_shell_bleed  (unavailable)\n" in result.output
    assert re.search(r"^    validate_input$", result.output, re.MULTILINE)
    assert "! 1 steps in 1 slots are not implemented in this version: they report " \
        "'unavailable', never block." in result.output


def steps_header(url: str, key: str) -> list[list[str]]:
    """X-TapPass-Steps of one echo chat call, as [step, verdict] pairs."""
    reply = httpx.post(f"{url}/v1/chat/completions", timeout=10,
                       headers={"Authorization": f"Bearer {key}"},
                       json={"model": "tappass/echo",
                             "messages": [{"role": "user", "content": "hi"}]})
    return [e.split("=") for e in reply.headers["X-TapPass-Steps"].split(", ")]


def test_pipeline_says_steps_and_slots_as_the_header_counts_them(run: Run,
                                                                 new_agent: NewAgent,
                                                                 gateway: Gateway) -> None:
    _, key = new_agent(preset="regulated")
    entries = steps_header(gateway.url, key)
    out = run("gov", "pipeline", "regulated").output
    distinct = len({s for s, _ in entries})
    assert out.splitlines()[1] == (
        f"{len(entries)} slots: {distinct} steps, 4 of them twice (detect_pii, "
        "detect_secrets, taint_tracking, check_exfiltration)")
    assert [step for step, verdict in entries if verdict == "unavailable"] == []
    assert "not implemented" not in out
    assert max(map(len, out.splitlines())) <= 100


@pytest.mark.parametrize("unimplemented_steps", ["taint_tracking"], indirect=True)
def test_unavailable_steps_and_slots_are_counted_as_the_header_counts_them(
        run_missing: Run, missing_gateway: str) -> None:
    created = httpx.post(f"{missing_gateway}/v1/agents", timeout=10,
                         headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                         json={"name": "slots-bot", "preset": "regulated",
                               "flags": {"pii": "off"}})
    assert created.status_code == 201, created.text
    entries = steps_header(missing_gateway, created.json()["api_key"])
    unavailable = [step for step, verdict in entries if verdict == "unavailable"]
    assert unavailable == ["taint_tracking", "taint_tracking"]  # one step in two slots
    out = run_missing("gov", "pipeline", "regulated").output
    assert (f"! {len(set(unavailable))} steps in {len(unavailable)} slots are not implemented "
            "in this version") in out
    assert max(map(len, out.splitlines())) <= 100


def test_pipeline_json_is_the_gateway_view(run: Run, admin: httpx.Client) -> None:
    result = run("gov", "pipeline", "regulated", "--json")
    assert json.loads(result.output) == admin.get("/admin/pipelines/regulated").json()


def test_unknown_pipeline(run: Run) -> None:
    result = run("gov", "pipeline", "nope")
    assert result.exit_code == 1
    assert "unknown preset 'nope'" in result.output


def test_step_shows_what_it_detects_options_and_values(run: Run) -> None:
    result = run(*argv("tappass gov step detect_pii"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Detects personal data" in out and "data_protection" in out
    assert "starter: before; standard: before, after; regulated: before, after" in out
    assert "unavailable" not in out
    assert "Options (current values: pipeline standard)" in out
    assert re.search(r"^allowlist\s+a list of strings\s+\[\]\s+\[\]\s*$", out, re.MULTILINE)
    assert re.search(r"^sensitivity\s+one of low \| medium \| high\s+medium\s+medium\s*$", out,
                     re.MULTILINE)


def test_step_by_alias_and_json(run: Run, admin: httpx.Client) -> None:
    result = run("gov", "step", "check_budget", "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view == admin.get("/admin/steps/budget_enforcement",
                             params={"pipeline": "default"}).json()
    assert view["status"] == "implemented"


def test_step_not_in_the_pipeline(run: Run) -> None:
    result = run("gov", "step", "user_tool_scopes", "--pipeline", "standard")
    assert result.exit_code == 0, result.output
    assert re.search(r"^in standard\s+not run\s*$", result.output, re.MULTILINE)
    assert re.search(r"^scopes\s+a mapping\s+\{\}\s+\(not run\)\s*$", result.output,
                     re.MULTILINE)


def test_unknown_step(run: Run) -> None:
    result = run("gov", "step", "nope")
    assert result.exit_code == 1
    assert "unknown step 'nope'" in result.output


def test_assign_seed_command(run: Run, admin: httpx.Client, new_agent: NewAgent) -> None:
    name, _ = new_agent("claims")
    line = "tappass gov assign <agent-id> --pipeline regulated".replace("<agent-id>", name)
    result = run(*argv(line))
    assert result.exit_code == 0, result.output
    assert f"Agent {name} now runs regulated: 24 before / 8 call / 13 after = 45 steps." \
        in result.output
    assert admin.get(f"/v1/agents/{name}").json()["preset"] == "regulated"


def test_assign_and_apply_take_the_agent_id(run: Run, admin: httpx.Client,
                                            new_agent: NewAgent, tmp_path: Path) -> None:
    name, _ = new_agent()
    agent_id = admin.get(f"/v1/agents/{name}").json()["id"]
    result = run(*argv(f"tappass gov assign {agent_id} --pipeline regulated"))
    assert result.exit_code == 0, result.output
    assert f"Agent {name} now runs regulated" in result.output
    assert admin.get(f"/v1/agents/{name}").json()["preset"] == "regulated"
    path = tmp_path / "pii.yaml"
    path.write_text(PII_ALLOWLIST)
    result = run("gov", "apply", str(path), "--agent", agent_id)
    assert result.exit_code == 0, result.output
    assert f"to agent {name}: pipeline" in result.output
    assert admin.get(f"/v1/agents/{name}").json()["overrides"]


def test_assign_unknown_pipeline_or_agent(run: Run, new_agent: NewAgent) -> None:
    name, _ = new_agent()
    result = run("gov", "assign", name, "--pipeline", "nope")
    assert result.exit_code == 1 and "unknown preset 'nope'" in result.output
    result = run("gov", "assign", "no-such-agent", "--pipeline", "regulated")
    assert result.exit_code == 1 and "agent 'no-such-agent' not found" in result.output


def test_create_pipeline_seed_command(run: Run, admin: httpx.Client,
                                      new_agent: NewAgent) -> None:
    result = run(*argv(CREATE_CUSTOM_CLAIMS))
    assert result.exit_code == 0, result.output
    assert "custom-claims: 24 before / 8 call / 12 after = 44 steps" in result.output
    view = admin.get("/admin/pipelines/custom-claims").json()
    assert view["spec"] == {"base": "regulated", "enable": ["tool_poisoning_detection"],
                            "disable": ["debug_logging"]}
    shown = run("gov", "pipeline", "custom-claims")
    assert shown.output.splitlines()[0] == "custom-claims: 24 before / 8 call / 12 after = 44 steps"
    assert "disable: debug_logging" in shown.output
    assert "    debug_logging" not in shown.output
    listed = run("gov", "pipelines").output
    assert re.search(r"^custom-claims\s+custom\s+24\s+8\s+12\s+44\s*$", listed, re.MULTILINE)
    name, _ = new_agent()
    assert run("gov", "assign", name, "--pipeline", "custom-claims").exit_code == 0
    assert admin.get(f"/v1/agents/{name}").json()["preset"] == "custom-claims"
    again = run(*argv(CREATE_CUSTOM_CLAIMS))
    assert again.exit_code == 1 and "already exists" in again.output


def test_create_pipeline_with_unknown_step(run: Run, unique_name: UniqueName) -> None:
    result = run("gov", "create-pipeline", unique_name("p"), "--enable", "nope")
    assert result.exit_code == 1
    assert "enable: unknown step 'nope'" in result.output


def current(admin: httpx.Client, step: str, pipeline: str) -> dict[str, Any]:
    view = admin.get(f"/admin/steps/{step}", params={"pipeline": pipeline}).json()
    return {row["name"]: row.get("current") for row in view["options"]}


@pytest.mark.parametrize("snippet", sorted(SNIPPETS))
def test_apply_seed_snippet_to_an_agent(run: Run, admin: httpx.Client, new_agent: NewAgent,
                                        tmp_path: Path, snippet: str) -> None:
    name, _ = new_agent("hr")
    text = SNIPPETS[snippet]
    result = run("gov", "apply", str(write(tmp_path, text)), "--agent", name)
    assert result.exit_code == 0, result.output
    assert f"to agent {name}: pipeline" in result.output
    agent = admin.get(f"/v1/agents/{name}").json()
    data = yaml.safe_load(text)
    expected = dict(data["overrides"])
    if "policy" in data:
        expected["policy"] = data["policy"]
    assert agent["overrides"] == expected
    assert agent["preset"] == data.get("preset", "standard")


@pytest.mark.parametrize(("snippet", "check"), [
    ("pii", lambda c: c("detect_pii")["allowlist"] == ["Anna Router", "Matt Board"]),
    ("injection", lambda c: c("detect_prompt_injection")["sensitivity"] == "high"),
    ("classification", lambda c: [p["name"] for p in c("classify_data")["custom_patterns"]]
     == ["internal_project_code", "board_minutes"]),
    ("onboarding", lambda c: c("classify_data")["custom_patterns"][0]["pattern"]
     == "ACC-[0-9]{8}"),
])
def test_apply_seed_snippet_to_a_pipeline(run: Run, admin: httpx.Client, tmp_path: Path,
                                          unique_name: UniqueName, snippet: str,
                                          check: Callable[..., bool]) -> None:
    name = unique_name("tuned")
    result = run("gov", "apply", str(write(tmp_path, SNIPPETS[snippet])), "--pipeline", name)
    assert result.exit_code == 0, result.output
    assert check(lambda step: current(admin, step, name))


def test_apply_policy_and_preset_to_a_pipeline(run: Run, admin: httpx.Client, tmp_path: Path,
                                               unique_name: UniqueName) -> None:
    name = unique_name("onboarding")
    result = run("gov", "apply", str(write(tmp_path, ONBOARDING)), "--pipeline", name)
    assert result.exit_code == 0, result.output
    assert f"to pipeline {name}: 24 before / 8 call / 13 after = 45 steps" in result.output
    view = admin.get(f"/admin/pipelines/{name}").json()
    assert view["spec"]["base"] == "regulated"
    assert view["policy"] == {"require_human_approval": [
        {"classification": "RESTRICTED"}, {"classification": "TOP_SECRET"}]}


def test_apply_to_an_existing_pipeline_keeps_its_toggles(run: Run, admin: httpx.Client,
                                                         tmp_path: Path,
                                                         unique_name: UniqueName) -> None:
    name = unique_name("claims")
    assert run("gov", "create-pipeline", name, "--base", "regulated",
               "--disable", "debug_logging").exit_code == 0
    result = run("gov", "apply", str(write(tmp_path, NO_MULTIMODAL)), "--pipeline", name)
    assert result.exit_code == 0, result.output
    view = admin.get(f"/admin/pipelines/{name}").json()
    assert view["counts"] == {"before": 23, "call": 8, "after": 12, "total": 43}
    assert view["spec"]["disable"] == ["debug_logging"]


def test_apply_to_a_preset_is_refused(run: Run, tmp_path: Path) -> None:
    result = run("gov", "apply", str(write(tmp_path, PII_ALLOWLIST)), "--pipeline", "regulated")
    assert result.exit_code == 1
    assert "regulated is a preset and cannot be changed" in result.output


def test_apply_needs_a_target(run: Run, tmp_path: Path) -> None:
    path = str(write(tmp_path, PII_ALLOWLIST))
    for extra in ([], ["--agent", "a", "--pipeline", "p"]):
        result = run("gov", "apply", path, *extra)
        assert result.exit_code == 2
        assert "--agent NAME (one agent) or --pipeline NAME" in result.output


def test_bad_value_error_names_the_file_line(run: Run, new_agent: NewAgent,
                                             tmp_path: Path) -> None:
    name, _ = new_agent("hr")
    text = PII_ALLOWLIST.replace('              allowlist:\n                - "Anna Router"\n'
                                 '                - "Matt Board"\n',
                                 '              allowlist: "Anna Router"\n')
    result = run("gov", "apply", str(write(tmp_path, text)), "--agent", name)
    assert result.exit_code == 1
    line = line_of(text, "allowlist:")
    assert (f"hr.yaml:{line}: overrides.categories.before.data_protection.steps.detect_pii."
            "options.allowlist: expected a list of strings") in result.output


def test_bad_top_level_policy_error_names_the_file_line(run: Run, new_agent: NewAgent,
                                                        tmp_path: Path) -> None:
    name, _ = new_agent("hr")
    text = ONBOARDING.replace("classification: TOP_SECRET", "classification: SECRETISH")
    result = run("gov", "apply", str(write(tmp_path, text)), "--agent", name)
    assert result.exit_code == 1
    assert f"hr.yaml:{line_of(text, 'SECRETISH')}: overrides.policy.require_human_approval[1]" \
        ".classification: expected one of" in result.output


def test_unknown_step_in_a_file_names_its_line(run: Run, tmp_path: Path,
                                               unique_name: UniqueName) -> None:
    text = NO_MULTIMODAL.replace("detect_multimodal_content", "detect_everything")
    result = run("gov", "apply", str(write(tmp_path, text)), "--pipeline", unique_name("p"))
    assert result.exit_code == 1
    assert f"hr.yaml:{line_of(text, 'detect_everything')}: overrides.categories.before." \
        "threat_detection.steps.detect_everything: unknown step" in result.output


@pytest.mark.parametrize(("text", "message"), [
    ("overrides:\n  steps: [a\n", "hr.yaml:3:1: invalid YAML"),
    ("preset: regulated\ncolour: red\n", "hr.yaml:2: colour: unknown key; expected one of "
                                         "preset, overrides, policy"),
    ("overrides: [1]\n", "hr.yaml:1: overrides: expected a mapping"),
    ("- 1\n", "hr.yaml: expected a mapping with preset, overrides and/or policy"),
])
def test_bad_files_are_refused_before_sending(run: Run, tmp_path: Path, text: str,
                                              message: str) -> None:
    result = run("gov", "apply", str(write(tmp_path, text)), "--agent", "anyone")
    assert result.exit_code == 1
    assert message in result.output


CLASSIFICATION_FILE = ("overrides:\n  categories:\n    classification:\n"
                       "      enabled: true\n      default_level: CONFIDENTIAL\n")


def test_apply_of_an_implemented_step_warns_nothing(run: Run, new_agent: NewAgent,
                                                    admin: httpx.Client,
                                                    tmp_path: Path) -> None:
    name, _ = new_agent()
    path = write(tmp_path, CLASSIFICATION_FILE, "classification.yaml")
    result = run("gov", "apply", str(path), "--agent", name)
    assert result.exit_code == 0, result.output
    assert "not implemented" not in result.output and "\n! " not in f"\n{result.output}"
    stored = admin.get(f"/v1/agents/{name}").json()
    assert "classification" in json.dumps(stored)


@pytest.mark.parametrize("unimplemented_steps", ["classify_data"], indirect=True)
def test_apply_warns_about_a_step_this_version_does_not_run(run_missing: Run,
                                                             missing_gateway: str,
                                                             tmp_path: Path) -> None:
    created = httpx.post(f"{missing_gateway}/v1/agents", timeout=10, json={"name": "hr"},
                         headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert created.status_code == 201, created.text
    path = write(tmp_path, CLASSIFICATION_FILE, "classification.yaml")
    result = run_missing("gov", "apply", str(path), "--agent", "hr")
    assert result.exit_code == 0, result.output
    assert (f"! {path}:3: overrides.categories.classification: classify_data "
            "(default_level) is not implemented in this version") in result.output


def test_create_pipeline_of_the_seed_warns_nothing(run: Run, admin: httpx.Client,
                                                   unique_name: UniqueName) -> None:
    name = unique_name("claims")
    result = run(*argv(CREATE_CUSTOM_CLAIMS.replace("custom-claims", name)))
    assert result.exit_code == 0, result.output
    assert "not implemented" not in result.output
    assert admin.get(f"/admin/pipelines/{name}").status_code == 200


@pytest.mark.parametrize("unimplemented_steps", ["taint_tracking"], indirect=True)
def test_create_pipeline_warns_about_unimplemented_steps(run_missing: Run) -> None:
    command = CREATE_CUSTOM_CLAIMS.replace("tool_poisoning_detection", "taint_tracking")
    result = run_missing(*argv(command))
    assert result.exit_code == 0, result.output
    assert "! enable: taint_tracking is not implemented in this version" \
        in result.output
