"""CEF, OCSF and JSON Lines renderings of audit events, checked by independent readers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from tappass.audit.formats import FORMATS, cef, ocsf
from tappass.audit.formats.level import level, reaches
from tests.audit.ocsf_schema import validate


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "ae_0001", "timestamp": "2026-12-01T00:00:00.250000Z", "agent": "bot",
        "agent_id": "ag_1", "status": "allowed", "blocked": False, "http_status": 200,
        "blocked_by": None, "reason": None, "model": "gpt-4o", "provider": "openai",
        "pipeline": "standard", "mode": "enforce", "session_id": None, "steps": [
            {"step": "validate_input", "phase": "before", "verdict": "allow"}],
        "would_block": []}
    return {**base, **changes}


BLOCKED = event(status="blocked", blocked=True, http_status=403, blocked_by="detect_pii",
                reason="PII | found = a\\b\nnext line", steps=[
                    {"step": "detect_pii", "phase": "before", "verdict": "block",
                     "findings": [{"type": "EMAIL", "start": 0, "end": 5, "score": 1.0}]}])
FLAGGED = event(steps=[{"step": "detect_secrets", "phase": "before", "verdict": "flag",
                        "findings": [{"type": "AWS_KEY", "start": 0, "end": 3}]}])
WOULD_BLOCK = event(mode="observe", would_block=[{"step": "x", "phase": "before",
                                                  "reason": "r"}])
TRANSFORMED = event(steps=[{"step": "detect_pii", "phase": "before", "verdict": "transform"}])
FAILED = event(status="failed", http_status=502, error="upstream")


# -- an independent CEF reader, written from the specification ---------------------------

def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """Split a CEF line into its 7 header fields and its extension (unescaped)."""
    assert "\n" not in line and "\r" not in line
    fields: list[str] = []
    current, i = "", 0
    while len(fields) < 7:
        char = line[i]
        if char == "\\" and line[i + 1] in "\\|":
            current += line[i + 1]
            i += 2
            continue
        if char == "|":
            fields.append(current)
            current = ""
        else:
            current += char
        i += 1
    rest = line[i:]
    # a key starts after a space (or at the start) and runs to an unescaped '='
    starts = [m for m in re.finditer(r"(?:^| )([A-Za-z0-9_]+)=", rest)
              if not _escaped(rest, m.end() - 1)]
    ext: dict[str, str] = {}
    for n, match in enumerate(starts):
        end = starts[n + 1].start() if n + 1 < len(starts) else len(rest)
        raw = rest[match.end():end]
        ext[match.group(1)] = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(
            m.group(1), m.group(1)), raw)
    return fields, ext


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - 1 - backslashes >= 0 and text[index - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def test_cef_round_trips_through_an_independent_parser() -> None:
    header, ext = parse_cef(cef.render(BLOCKED))
    assert header[:3] == ["CEF:0", "TapPass", "TapPass Gateway"]
    assert header[4:] == ["tappass:blocked", "Request blocked", "8"]
    assert ext["externalId"] == "ae_0001" and ext["suser"] == "bot"
    assert ext["reason"] == "PII | found = a\\b\nnext line"
    assert ext["act"] == "block" and ext["cs1"] == "detect_pii"
    assert ext["cs1Label"] == "blockedBy" and ext["cs4"] == "EMAIL"
    assert ext["rt"] == str(int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()) * 1000 + 250)


def test_cef_escapes_pipes_and_backslashes_in_the_header_and_drops_newlines() -> None:
    assert cef.escape_header("a|b\\c\nd") == "a\\|b\\\\c d"
    assert cef.escape_extension("a=b\\c\r\nd|e") == "a\\=b\\\\c\\nd|e"


def test_cef_header_fields_with_pipes_parse_back() -> None:
    line = cef.render(event(status="odd|status\\x"))
    header, ext = parse_cef(line)
    assert header[4] == "tappass:odd|status\\x" and ext["outcome"] == "odd|status\\x"


@pytest.mark.parametrize(("sample", "severity", "reached"), [
    (BLOCKED, 8, "block"), (WOULD_BLOCK, 6, "detection"), (TRANSFORMED, 5, "action"),
    (FLAGGED, 4, "detection"), (FAILED, 3, "all"), (event(), 1, "all")])
def test_severity_follows_what_happened(sample: dict[str, Any], severity: int,
                                        reached: str) -> None:
    assert cef.severity(sample) == severity
    assert level(sample) == reached


def test_filter_levels_nest() -> None:
    assert reaches(BLOCKED, "action") and reaches(BLOCKED, "detection")
    assert reaches(TRANSFORMED, "detection") and not reaches(TRANSFORMED, "block")
    assert not reaches(event(), "detection") and reaches(event(), "all")


@pytest.mark.parametrize("sample", [BLOCKED, FLAGGED, WOULD_BLOCK, TRANSFORMED, FAILED,
                                    event(), event(agent=None, agent_id=None, provider=None)])
def test_ocsf_events_validate_against_the_schema(sample: dict[str, Any]) -> None:
    rendered = orjson.loads(ocsf.render(sample))
    assert validate(rendered) == []
    assert rendered["metadata"]["uid"] == sample["id"]


def test_ocsf_class_follows_the_outcome() -> None:
    blocked = ocsf.to_ocsf(BLOCKED)
    assert (blocked["class_uid"], blocked["type_uid"], blocked["is_alert"]) == (2004, 200401,
                                                                                True)
    assert blocked["finding_info"]["analytic"]["name"] == "detect_pii"
    assert blocked["finding_info"]["types"] == ["EMAIL"]
    allowed = ocsf.to_ocsf(event())
    assert (allowed["class_uid"], allowed["type_uid"], allowed["status_id"]) == (6003, 600301,
                                                                                 1)
    assert ocsf.to_ocsf(FAILED)["status_id"] == 2


def test_the_validator_catches_what_the_schema_forbids() -> None:
    broken = ocsf.to_ocsf(event())
    broken["type_uid"] = 600302
    del broken["api"]
    broken["prompt"] = "x"
    problems = validate(broken)
    assert "api: required" in problems
    assert "type_uid: must be class_uid * 100 + activity_id" in problems
    assert "prompt: not an attribute of class 6003" in problems


def test_jsonl_is_the_event_itself_on_one_line() -> None:
    line = FORMATS["jsonl"](BLOCKED)
    assert "\n" not in line and orjson.loads(line) == BLOCKED
