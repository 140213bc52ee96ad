"""`tappass logs` against a real gateway: the events shown are the calls just made."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx

from tests.cli.conftest import Run

Chat = Callable[..., httpx.Response]
NewAgent = Callable[..., tuple[str, str]]
NUL_REASON = "invalid input: input contains NUL characters"


def test_logs_shows_the_calls_just_made_newest_first(run: Run, chat: Chat,
                                                      new_agent: NewAgent) -> None:
    name, key = new_agent()
    assert chat(key).status_code == 200
    assert chat(key, "bad\x00input").status_code == 403
    result = run("logs", "--agent", name, "--wide")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if name in line]
    assert len(rows) == 2
    assert f"blocked by validate_input: {NUL_REASON}" in rows[0]
    assert re.search(r"tappass/echo\s+allowed\s+enforce\s+\d+\.\d{3}\s+\$0\.00\s+-\s*$", rows[1])


def test_verbose_shows_every_step_with_its_duration(run: Run, chat: Chat,
                                                    new_agent: NewAgent) -> None:
    name, key = new_agent(preset="starter")
    assert chat(key).status_code == 200
    result = run("logs", "--limit", "10", "--verbose", "--agent", name)
    assert result.exit_code == 0, result.output
    assert re.search(r"step\s+phase\s+verdict\s+duration_ms\s+reason", result.output)
    for step, phase in [("validate_input", "before"), ("llm_call", "call"),
                        ("cost_tracking", "after")]:
        assert re.search(rf"^{step}\s+{phase}\s+allow\s+\d+\.\d{{3}}\s*$", result.output,
                         re.MULTILINE), step
    assert re.search(r"^classify_data\s+before\s+allow\s+\d+\.\d{3}\s+classified INTERNAL",
                     result.output, re.MULTILINE)
    assert "total" in result.output.splitlines()[-1]


def test_blocked_filter_shows_the_disabled_agents_call(run: Run, admin: httpx.Client,
                                                       chat: Chat, new_agent: NewAgent) -> None:
    name, key = new_agent()
    assert chat(key).status_code == 200
    assert run("logs", "--agent", name, "--blocked").output.startswith("No blocked requests")
    admin.patch(f"/v1/agents/{name}", json={"enabled": False})
    assert chat(key).status_code == 403
    result = run("logs", "--agent", name, "--blocked", "--verbose", "--wide")
    rows = [line for line in result.output.splitlines() if name in line]
    assert len(rows) == 2  # the summary row and the verbose heading of the one event
    assert f"blocked by authentication: agent '{name}' is disabled" in rows[0]
    assert "no pipeline steps ran" in result.output


def test_observe_mode_shows_what_would_have_been_blocked(run: Run, chat: Chat,
                                                         new_agent: NewAgent) -> None:
    name, key = new_agent()
    assert chat(key, "bad\x00input", flags="mode=observe").status_code == 200
    result = run("logs", "--agent", name, "--wide")
    assert re.search(r"allowed\s+observe", result.output)
    assert f"would block: validate_input ({NUL_REASON})" in result.output


def test_failed_call_shows_the_error(run: Run, chat: Chat, new_agent: NewAgent) -> None:
    name, key = new_agent()
    assert chat(key, model="gpt-4o").status_code >= 500
    result = run("logs", "--agent", name, "--wide")
    assert "failed: provider 'openai' is not configured" in result.output


def test_json_lines_and_limit(run: Run, admin: httpx.Client, chat: Chat,
                              new_agent: NewAgent) -> None:
    name, key = new_agent()
    for _ in range(3):
        assert chat(key).status_code == 200
    result = run("logs", "--agent", name, "--limit", "2", "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    expected = admin.get("/v1/audit", params={"agent": name, "limit": 2}).json()["data"]
    assert [event["id"] for event in events] == [event["id"] for event in expected]
    assert "raise --limit" in run("logs", "--agent", name, "--limit", "2").output


def test_no_events_and_bad_limit(run: Run) -> None:
    result = run("logs", "--agent", "nobody-here")
    assert result.exit_code == 0
    assert "No audit events for agent nobody-here" in result.output
    result = run("logs", "--limit", "0")
    assert result.exit_code == 2 and "--limit" in result.output


def test_logs_errors_say_what_to_do(run: Run) -> None:
    result = run("logs", env={"TAPPASS_ADMIN_API_KEY": "tp_admin_wrong"})
    assert result.exit_code == 1
    assert "the admin key from TAPPASS_ADMIN_API_KEY was rejected" in result.output


def test_compact_rows_fit_100_columns_and_wide_shows_them_whole(
        run: Run, chat: Chat, new_agent: NewAgent) -> None:
    name, key = new_agent("a-rather-long-agent-name-for-the-table")
    assert chat(key, "bad\x00input").status_code == 403
    assert chat(key, "bad\x00input", flags="mode=observe").status_code == 200
    for args in ((), ("--verbose",)):
        compact = run("logs", "--agent", name, *args).output
        assert max(map(len, compact.splitlines())) <= 100, compact
        assert "blocked by validate_input: in" in compact and "…" in compact
    wide = run("logs", "--agent", name, "--wide", "--verbose").output
    assert max(map(len, wide.splitlines())) > 100
    assert f"would block: validate_input ({NUL_REASON})" in wide
    assert re.search(r"loosened flags\s*$", wide.splitlines()[0])


def test_agent_id_selects_the_agents_events(run: Run, admin: httpx.Client, chat: Chat,
                                            new_agent: NewAgent) -> None:
    name, key = new_agent()
    assert chat(key).status_code == 200
    agent_id = admin.get(f"/v1/agents/{name}").json()["id"]
    result = run("logs", "--agent", agent_id)
    assert result.exit_code == 0, result.output
    assert len([line for line in result.output.splitlines() if name in line]) == 1
