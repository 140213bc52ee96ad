"""Presets match the seeds' step counts and DESIGN.md's table exactly."""

from __future__ import annotations

import sys

import pytest

from tappass.errors import ConfigError
from tappass.pipeline.definition import (
    PRESET_NAMES,
    StepConfig,
    compile_pipeline,
    load_preset,
    parse_definition,
)
from tappass.pipeline.registry import ALIASES, BY_ID, SPECS, load_class, resolve_id
from tappass.pipeline.step import Category, Phase

# DESIGN.md: id -> (category, aliases, starter, standard, regulated); phases as "b", "c", "a"
TABLE = """
rate_limit access_control - b b b
tool_permissions access_control check_tools - b b
tool_filter access_control filter_tools - b b
tool_constraints access_control - - b b
user_tool_scopes access_control - - - b
budget_enforcement access_control check_budget,budget b b b
session_budget access_control - - b b
detect_pii data_protection - b ba ba
pii_tokenization data_protection pii_tokenize - b b
pii_restore data_protection - a a a
detect_secrets data_protection secret_detection b ba ba
taint_tracking data_protection taint_check - ba ba
detect_business_data data_protection detect_business - b b
detect_infrastructure_data data_protection detect_infra - b b
detect_prompt_injection threat_detection detect_injection b b b
detect_unicode_tricks threat_detection detect_unicode - b b
detect_shell_bleed threat_detection shell_bleed - b b
detect_privilege_escalation threat_detection detect_escalation - b b
detect_code_execution threat_detection detect_code_exec - b b
detect_multimodal_content threat_detection detect_multimodal - b b
check_exfiltration threat_detection detect_exfiltration - ba ba
classify_data classify_and_prepare - b b b
validate_input classify_and_prepare - b b b
inspect_images classify_and_prepare image_inspection - b b
adaptive_thresholds classify_and_prepare - - b b
llm_call route_and_execute call_llm c c c
tool_call route_and_execute call_tool - c c
model_routing route_and_execute - c c c
tool_call_scan route_and_execute scan_tool_calls - c c
tool_governance_verification route_and_execute verify_tool_governance - - c
tool_poisoning_detection route_and_execute detect_tool_poison - - c
loop_guard route_and_execute - - c c
session_loop_guard route_and_execute - - - c
output_scan response_safety scan_output - a a
output_constraints response_safety - - a a
output_deduplication response_safety - - - a
content_safety response_safety - - a a
session_escalation response_safety - - - a
artifact_verification response_safety - - - a
cost_tracking tracking - a a a
debug_logging tracking - - a a
"""
ROWS = [line.split() for line in TABLE.strip().splitlines()]
LETTER = {"b": Phase.BEFORE, "c": Phase.CALL, "a": Phase.AFTER}


def test_registry_has_the_41_steps_of_the_design_table() -> None:
    assert len(SPECS) == 41
    assert [row[0] for row in ROWS] == [spec.id for spec in SPECS]
    for step_id, category, aliases, *_ in ROWS:
        assert BY_ID[step_id].category is Category(category)
        expected = () if aliases == "-" else tuple(aliases.split(","))
        assert BY_ID[step_id].aliases == expected


@pytest.mark.parametrize("alias, step_id", sorted(ALIASES.items()))
def test_aliases_resolve_to_the_canonical_id(alias: str, step_id: str) -> None:
    assert resolve_id(alias) == step_id
    assert resolve_id(step_id) == step_id


def test_an_unknown_step_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown step 'detect_everything'.*detect_pii"):
        resolve_id("detect_everything")


@pytest.mark.parametrize("preset, counts", [
    ("starter", (7, 2, 2)), ("standard", (23, 5, 10)), ("regulated", (24, 8, 13))])
def test_preset_counts_per_phase_match_the_seeds(preset: str, counts: tuple[int, ...]) -> None:
    definition = load_preset(preset)
    assert tuple(definition.count(phase) for phase in Phase) == counts


@pytest.mark.parametrize("column, preset", list(enumerate(PRESET_NAMES)))
def test_each_step_runs_in_the_phases_of_the_design_table(column: int, preset: str) -> None:
    definition = load_preset(preset)
    actual = {(config.id, phase) for phase in Phase for config in definition.phases[phase]}
    expected = {(row[0], LETTER[letter]) for row in ROWS
                for letter in row[3 + column] if letter != "-"}
    assert actual == expected


def test_no_step_appears_twice_in_one_phase() -> None:
    for name in PRESET_NAMES:
        for phase, configs in load_preset(name).phases.items():
            ids = [c.id for c in configs]
            assert len(ids) == len(set(ids)), (name, phase)


def test_presets_default_modes() -> None:
    assert load_preset("starter").defaults == {"mode": "observe"}
    assert load_preset("standard").defaults == {"mode": "enforce"}
    assert load_preset("regulated").defaults == {"mode": "enforce"}


def test_unknown_preset_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="valid presets: starter, standard, regulated"):
        load_preset("enterprise")


@pytest.mark.parametrize("spec", [s for s in SPECS if s.available], ids=lambda s: s.id)
def test_available_steps_load_with_default_options(spec) -> None:  # type: ignore[no-untyped-def]
    cls = load_class(spec.id)
    assert cls.id == spec.id
    assert sys.modules[cls.__module__].__doc__, f"{spec.id} has no module docstring"
    cls.Options()


def test_bad_step_options_fail_at_load_with_their_path() -> None:
    definition = parse_definition({"name": "x", "steps": {"before": [
        "validate_input", {"id": "rate_limit", "options": {"requests_per_minute": 0}}]}}, "x")
    with pytest.raises(ConfigError, match=r"steps\.before\[1\] \(rate_limit\)\.options\."
                                          r"requests_per_minute"):
        compile_pipeline(definition, services=None)


def test_unknown_step_option_is_an_error() -> None:
    definition = parse_definition({"name": "x", "steps": {"after": [
        {"id": "debug_logging", "options": {"verbosity": 3}}]}}, "x")
    with pytest.raises(ConfigError, match="debug_logging.*verbosity"):
        compile_pipeline(definition, services=None)


def test_disabled_steps_are_left_out_of_the_compiled_pipeline() -> None:
    definition = parse_definition({"name": "x", "steps": {"before": [
        {"id": "detect_pii", "enabled": False}, "detect_secrets"]}}, "x")
    pipeline = compile_pipeline(definition, services=None)
    assert [e.spec.id for e in pipeline.phases[Phase.BEFORE]] == ["detect_secrets"]
    assert definition.phases[Phase.BEFORE][0] == StepConfig("detect_pii", enabled=False)
