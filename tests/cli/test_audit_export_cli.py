"""`tappass audit export` against a real gateway: a file or stdout, with the filters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.cli.conftest import Run

Chat = Callable[..., httpx.Response]
NewAgent = Callable[..., tuple[str, str]]


def test_export_writes_the_agents_events_to_a_file(run: Run, chat: Chat, new_agent: NewAgent,
                                                  tmp_path: Path) -> None:
    name, key = new_agent()
    assert chat(key).status_code == 200
    assert chat(key, "bad\x00input").status_code == 403
    target = tmp_path / "out.jsonl"
    result = run("audit", "export", "--agent", name, "--output", str(target))
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["status"] for e in events] == ["allowed", "blocked"]
    assert f"wrote 2 events to {target}" in result.output


def test_export_cef_of_blocked_events_to_stdout_has_no_progress_noise(
        run: Run, chat: Chat, new_agent: NewAgent) -> None:
    name, key = new_agent()
    assert chat(key, "bad\x00input").status_code == 403
    assert chat(key).status_code == 200
    result = run("audit", "export", "--format", "cef", "--agent", name, "--blocked")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("CEF:0|TapPass|")
    assert f"suser={name}" in lines[0]


def test_a_limit_below_one_is_refused_naming_it(run: Run) -> None:
    result = run("audit", "export", "--after", "2026-01-01", "--agent", "x", "--limit", "0")
    assert result.exit_code == 2 and "limit" in result.output
