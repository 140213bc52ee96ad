"""`tappass status` against a real gateway, an unreachable one, and with a wrong admin key.

Only `test_status_goes_green_once_an_agent_exists` registers agents on this module's gateway.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tappass.cli import status
from tests.cli.conftest import Run
from tests.support.fake_upstream import free_port
from tests.support.gateway import ADMIN_KEY, Gateway


def lines_of(output: str) -> dict[str, str]:
    """The checklist as {label: its line}."""
    return {match[2]: match[0] for match in re.finditer(r"^([✓✗!-]) (\w+) .*$", output,
                                                         re.MULTILINE)}


def test_status_goes_green_once_an_agent_exists(run: Run, admin: httpx.Client) -> None:
    result = run("status")
    assert result.exit_code == 1
    assert lines_of(result.output)["agents"].startswith("✗ agents     no agents registered")
    assert "fix: tappass agents add NAME --preset starter" in result.output
    admin.post("/v1/agents", json={"name": "status-bot"}).raise_for_status()
    result = run("status")
    assert result.exit_code == 0, result.output
    checks = lines_of(result.output)
    for label in ("config", "server", "auth", "agents", "database"):
        assert checks[label].startswith("✓"), checks[label]
    assert "healthy (version " in checks["server"] and "storage memory" in checks["server"]
    assert "1 registered, 1 enabled" in checks["agents"]
    assert "memory ok" in checks["database"]
    assert re.search(r"starter\s+before\s+7\s+call\s+2\s+after\s+2\s+= 11 slots",
                     result.output)
    assert checks["pipeline"].startswith("✓"), checks["pipeline"]  # every step implemented
    assert "unavailable" not in result.output
    assert "fix:" not in result.output.split("providers")[0]
    assert "All checks passed" in result.output


def test_unreachable_gateway_fails_with_the_fix_and_skips_the_rest(run: Run) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run("status", env={"TAPPASS_URL": url})
    assert result.exit_code == 1
    checks = lines_of(result.output)
    assert checks["server"] == f"✗ server     cannot reach the gateway at {url}"
    assert "fix: start it with `tappass up` (or set TAPPASS_URL)" in result.output
    for label in ("auth", "agents", "pipeline", "database"):
        assert checks[label].startswith(f"- {label}") and "skipped" in checks[label]


def test_wrong_admin_key_fails_auth_with_the_fix(run: Run) -> None:
    result = run("status", env={"TAPPASS_ADMIN_API_KEY": "tp_admin_wrong"})
    assert result.exit_code == 1
    checks = lines_of(result.output)
    assert checks["server"].startswith("✓")
    assert checks["auth"].startswith("✗ auth       the admin key from TAPPASS_ADMIN_API_KEY "
                                     "was rejected by http://127.0.0.1:")
    assert "fix: export TAPPASS_ADMIN_API_KEY=<the gateway's admin key>" in result.output
    assert "tp_admin_wrong" not in result.output
    assert checks["agents"].startswith("- agents")


def test_missing_admin_key(run: Run) -> None:
    result = run("status", env={"TAPPASS_ADMIN_API_KEY": None})
    assert result.exit_code == 1
    assert lines_of(result.output)["auth"].startswith(
        "✗ auth       no admin key found (TAPPASS_ADMIN_API_KEY is not set in this shell, and ")


def test_invalid_setting_fails_config_naming_it(run: Run) -> None:
    result = run("status", env={"TAPPASS_PORT": "notaport"})
    assert result.exit_code == 1
    assert lines_of(result.output)["config"].startswith("✗ config")
    assert "TAPPASS_PORT" in result.output and "notaport" in result.output


def test_database_failure_and_migrations() -> None:
    failed = status.check_database({"kind": "postgres", "status": "fail",
                                    "error": "database connection failed: refused"})
    assert (failed.state, failed.fix) == ("fail", status.DB_FIX)
    assert "database connection failed" in failed.detail
    ok = status.check_database({"kind": "local", "status": "ok", "latency_ms": 0.2,
                                "migrations": ["0001_init", "0002_audit"]})
    assert ok.state == "ok" and "2 applied (latest 0002_audit)" in ok.detail


def test_pipeline_without_unavailable_steps_is_ok() -> None:
    check = status.check_pipeline({"starter": {"before": 7, "call": 2, "after": 2,
                                               "total": 11, "unavailable": []}})
    assert check.state == "ok"
    assert check.lines == ["starter    before  7  call  2  after  2  = 11 slots"]


def steps_header(url: str, key: str) -> list[list[str]]:
    """X-TapPass-Steps of one echo chat call, as [step, verdict] pairs."""
    reply = httpx.post(f"{url}/v1/chat/completions", timeout=10,
                       headers={"Authorization": f"Bearer {key}"},
                       json={"model": "tappass/echo",
                             "messages": [{"role": "user", "content": "hi"}]})
    return [e.split("=") for e in reply.headers["X-TapPass-Steps"].split(", ")]


def test_slot_counts_agree_with_the_steps_header(run: Run, gateway: Gateway,
                                                 admin: httpx.Client) -> None:
    created = admin.post("/v1/agents", json={"name": "counting-bot", "preset": "regulated"})
    entries = steps_header(gateway.url, created.json()["api_key"])
    assert not [step for step, verdict in entries if verdict == "unavailable"]
    out = run("status").output
    assert re.search(rf"regulated\s+before 24\s+call\s+8\s+after 13\s+= {len(entries)} "
                     r"slots$", out, re.MULTILINE), out
    assert "unavailable" not in out
    assert max(map(len, out.splitlines())) <= 100, out


@pytest.mark.parametrize("unimplemented_steps", ["taint_tracking"], indirect=True)
def test_unavailable_counts_agree_with_the_steps_header(run_missing: Run,
                                                        missing_gateway: str) -> None:
    created = httpx.post(f"{missing_gateway}/v1/agents", timeout=10,
                         headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                         json={"name": "counting-bot", "preset": "regulated",
                               "flags": {"pii": "off"}})
    assert created.status_code == 201, created.text
    entries = steps_header(missing_gateway, created.json()["api_key"])
    unavailable = [step for step, verdict in entries if verdict == "unavailable"]
    said = f"{len(set(unavailable))} steps in {len(unavailable)} slots unavailable"
    assert len(set(unavailable)) != len(unavailable)  # the case that needs both numbers
    out = run_missing("status").output
    assert re.search(rf"regulated\s+before 24\s+call\s+8\s+after 13\s+= {len(entries)} "
                     rf"slots\s+\({said}\)", out), out
    checks = lines_of(out)
    assert checks["pipeline"].startswith("!") and "unavailable" in checks["pipeline"]
    assert max(map(len, out.splitlines())) <= 100, out


def test_forwarding_line_shows_queue_and_dead_letters() -> None:
    siem = {"enabled": True, "destination": {"type": "splunk_hec"}, "format": "cef"}
    ok = status.check_forwarding({"siem": siem, "webhooks": 1, "dead_letters": 0,
                                  "sinks": {"siem": {"pending": 3, "dead": 0}}})
    assert (ok.state, ok.detail) == ("ok", "splunk_hec (cef, enabled), 1 alert webhook(s), "
                                           "3 queued")
    dead = status.check_forwarding({"siem": siem, "webhooks": 0, "dead_letters": 2, "sinks": {
        "siem": {"pending": 0, "dead": 2, "last_error": "Splunk HEC answered HTTP 400"}}})
    assert dead.state == "warn" and "2 dead letter(s): Splunk HEC answered HTTP 400" in \
        dead.detail and "dead-letters/retry" in (dead.fix or "")
    assert status.check_forwarding({"siem": None, "webhooks": 0, "dead_letters": 0,
                                    "sinks": {}}).state == "skip"
