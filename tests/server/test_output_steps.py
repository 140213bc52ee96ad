"""output_constraints and output_deduplication on the answer (tappass/echo answers with the
user's text, so the test chooses the answer)."""

from __future__ import annotations

from typing import Any

import pytest

from tappass.detect.repetition import find_loop
from tappass.pipeline.options import DedupOptions, OutputConstraintsOptions
from tappass.pipeline.steps.output_constraints import OutputConstraints
from tests.conftest import ADMIN_HEADERS, Gateway

SCHEMA = {"type": "object", "required": ["answer"],
          "properties": {"answer": {"type": "string"}, "score": {"type": "number"}}}
LOOP = "Sure. " + "The quarterly report is ready for review. " * 5 + "Done."


async def configure(gw: Gateway, name: str, step: str, mode: str = "enforce",
                    **options: Any) -> str:
    key = await gw.add_agent(name, preset="regulated", flags={"mode": mode, "pii": "off"})
    patched = await gw.client.patch(
        f"/v1/agents/{name}/pipeline", headers=ADMIN_HEADERS, json={"overrides": {
            "categories": {"after": {"response_safety": {"steps": {
                step: {"enabled": True, "options": options}}}}}}})
    assert patched.status_code == 200, patched.text
    return key


def step_result(event: dict[str, Any], step: str) -> dict[str, Any]:
    return next(s for s in event["steps"] if s["step"] == step)


async def test_a_too_long_answer_is_blocked_naming_the_limit(gateway: Gateway) -> None:
    key = await configure(gateway, "short", "output_constraints", max_chars=20)
    assert (await gateway.chat(key, "twenty characters ok")).status_code == 200
    response = await gateway.chat(key, "this answer is longer than twenty characters")
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["step"] == "output_constraints"
    assert "44 characters, at most 20" in error["reason"]
    assert "longer than twenty" not in response.text     # the blocked answer is not echoed


async def test_json_schema_answers(gateway: Gateway) -> None:
    key = await configure(gateway, "json", "output_constraints", json_schema=SCHEMA)
    good = '```json\n{"answer": "42", "score": 0.9}\n```'
    assert (await gateway.chat(key, good)).status_code == 200
    wrong = await gateway.chat(key, '{"answer": 42}')
    assert wrong.status_code == 403
    assert "schema at answer: type" in wrong.json()["error"]["reason"]
    prose = await gateway.chat(key, "The answer is 42.")
    assert "not valid JSON" in prose.json()["error"]["reason"]


async def test_forbidden_and_required_patterns_and_observe_mode(gateway: Gateway) -> None:
    key = await configure(gateway, "pat", "output_constraints", mode="observe",
                          forbidden_patterns=[r"(?i)\bguaranteed returns?\b"],
                          required_patterns=[r"Not financial advice\.$"])
    response = await gateway.chat(key, "Guaranteed returns of 20%! Not financial advice.")
    assert response.status_code == 200            # observe: recorded, not enforced
    event = await gateway.event(response.headers["x-tappass-audit-id"])
    result = step_result(event, "output_constraints")
    assert result["verdict"] == "would_block"
    assert [f["type"] for f in result["findings"]] == ["forbidden_pattern"]
    assert result["findings"][0]["start"] == 0 and result["findings"][0]["end"] == 18
    missing = await gateway.chat(key, "Buy now.")
    event = await gateway.event(missing.headers["x-tappass-audit-id"])
    assert [f["type"] for f in step_result(event, "output_constraints")["findings"]] == [
        "missing_pattern"]


def test_a_bad_schema_or_pattern_fails_at_load_naming_it() -> None:
    with pytest.raises(ValueError, match="json_schema is not a valid JSON Schema"):
        OutputConstraintsOptions(json_schema={"type": "not-a-type"})
    with pytest.raises(ValueError, match="invalid regular expression"):
        OutputConstraintsOptions(forbidden_patterns=["(unclosed"])


@pytest.mark.parametrize(("text", "kinds"), [
    ("hello", ["not_json"]),
    ('{"a": 1', ["not_json"]),
    ('{"answer": "x"}', []),
    ('[1, 2]', ["schema_violation"]),
    ("x" * 101, ["too_long", "not_json"]),
])
def test_check_table(text: str, kinds: list[str]) -> None:
    step = OutputConstraints(OutputConstraintsOptions(max_chars=100, json_schema=SCHEMA), None)
    assert [f.type for f in step.check(text, "choice 0")] == kinds


async def test_a_looping_answer_is_flagged_with_its_span(gateway: Gateway) -> None:
    key = await configure(gateway, "loop", "output_deduplication")
    response = await gateway.chat(key, LOOP)
    assert response.status_code == 200, response.text
    event = await gateway.event(response.headers["x-tappass-audit-id"])
    result = step_result(event, "output_deduplication")
    assert result["verdict"] == "flag"
    [finding] = result["findings"]
    assert finding["type"] == "looping_output" and "7-word phrase repeated 5 times" in \
        finding["explanation"]
    assert LOOP[finding["start"]:finding["end"]].startswith("The quarterly report")


async def test_a_repeated_answer_in_one_session_blocks_when_configured(
        gateway: Gateway) -> None:
    key = await configure(gateway, "rep", "output_deduplication", action="block", window=2)
    session = {"X-Session-Id": "ses-dedup-1"}
    assert (await gateway.chat(key, "Quarterly plan drafted.", headers=session)).status_code \
        == 200
    assert (await gateway.chat(key, "Something else.", headers=session)).status_code == 200
    again = await gateway.chat(key, "quarterly   PLAN drafted.", headers=session)
    assert again.status_code == 403
    assert again.json()["error"]["step"] == "output_deduplication"
    other = await gateway.chat(key, "Quarterly plan drafted.",
                               headers={"X-Session-Id": "ses-dedup-2"})
    assert other.status_code == 200                  # another session has its own history
    assert (await gateway.chat(key, "Quarterly plan drafted.")).status_code == 200  # none


async def test_the_window_forgets_older_answers(gateway: Gateway) -> None:
    key = await configure(gateway, "win", "output_deduplication", action="block", window=1)
    session = {"X-Session-Id": "ses-dedup-3"}
    for text in ("First answer.", "Second answer.", "First answer."):
        assert (await gateway.chat(key, text, headers=session)).status_code == 200


@pytest.mark.parametrize(("text", "looping"), [
    ("I am sorry. " * 8, True),
    ("the " * 20, True),
    ("very very very good", False),
    ("Step 1: mix. Step 2: bake. Step 3: cool. Step 4: serve.", False),
    ("ha ha ha ha ha ha ha ha ha ha", False),                       # too short to matter
    ("| a | b |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |", False),
])
def test_loop_table(text: str, looping: bool) -> None:
    assert (find_loop(text, DedupOptions().max_repeats) is not None) is looping
