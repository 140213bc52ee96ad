"""`POST /v1/chat/completions` in-process: auth, parsing, pipeline verdicts, audit, modes."""

from __future__ import annotations

import orjson
import pytest

from tappass.errors import StorageError
from tests.conftest import ADMIN_HEADERS, Gateway, gateway_with


async def last_event(gw: Gateway, agent: str = "bot") -> dict:
    response = await gw.client.get(f"/v1/audit?agent={agent}&limit=1", headers=ADMIN_HEADERS)
    return response.json()["data"][0]


async def test_echo_answers_with_the_governed_request(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, "hello world")
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello world"
    assert response.headers["x-tappass-audit-id"].startswith("ae_")


async def test_steps_header_lists_every_step_with_its_verdict(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="starter")
    response = await gateway.chat(key)
    steps = dict(item.split("=") for item in response.headers["x-tappass-steps"].split(", "))
    assert list(steps) == ["validate_input", "rate_limit", "budget_enforcement", "detect_pii",
                           "detect_secrets", "detect_prompt_injection", "classify_data",
                           "model_routing", "llm_call", "pii_restore", "cost_tracking"]
    assert steps["validate_input"] == "allow"
    assert steps["detect_pii"] == "allow"
    assert steps["classify_data"] == "allow"
    assert response.headers["x-tappass-classification"] == "INTERNAL"  # the default level


async def test_a_step_without_implementation_says_unavailable_in_header_and_audit(
        gateway_missing_steps: Gateway, unimplemented_steps: tuple[str, ...]) -> None:
    [missing] = unimplemented_steps
    key = await gateway_missing_steps.add_agent(preset="standard", flags={"pii": "off"})
    response = await gateway_missing_steps.chat(key)
    assert response.status_code == 200    # an unavailable step never blocks
    steps = dict(item.split("=") for item in response.headers["x-tappass-steps"].split(", "))
    assert steps[missing] == "unavailable"
    assert [step for step, verdict in steps.items() if verdict == "unavailable"] == [missing]
    event = await last_event(gateway_missing_steps)
    assert event["id"] == response.headers["x-tappass-audit-id"]
    assert [s["step"] for s in event["steps"] if s["verdict"] == "unavailable"] == [missing]


async def test_no_registered_step_is_unavailable_in_this_version(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="regulated", flags={"pii": "off"})
    response = await gateway.chat(key)
    assert "detect_shell_bleed=allow" in response.headers["x-tappass-steps"]
    assert "unavailable" not in response.headers["x-tappass-steps"]


async def test_every_request_is_audited_with_per_step_duration(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="regulated")
    response = await gateway.chat(key)
    event = await last_event(gateway)
    assert event["id"] == response.headers["x-tappass-audit-id"]
    assert event["status"] == "allowed" and event["pipeline"] == "regulated"
    assert event["http_status"] == 200
    assert len(event["steps"]) == 45
    assert all(isinstance(step["duration_ms"], float) for step in event["steps"])
    assert event["usage"]["total_tokens"] > 0
    assert event["latency_ms"]["total"] > 0
    assert "hello" not in orjson.dumps(event).decode()  # no prompt text in the audit trail


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "missing_api_key"),
    ({"Authorization": "Bearer tp_not-a-real-key-000000000000"}, 401, "invalid_api_key"),
    ({"Authorization": "Basic abc"}, 401, "missing_api_key"),
    ({"Authorization": f"Bearer {ADMIN_HEADERS['Authorization'][7:]}"}, 401, "invalid_api_key"),
])
async def test_bad_credentials_get_401(gateway: Gateway, headers: dict, status: int,
                                       code: str) -> None:
    response = await gateway.client.post("/v1/chat/completions", headers=headers, json={})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    events = (await gateway.client.get("/v1/audit?blocked=true", headers=ADMIN_HEADERS)).json()
    event = events["data"][0]
    assert event["id"] == response.headers["x-tappass-audit-id"]
    assert (event["agent"], event["http_status"], event["blocked_by"]) == (
        None, 401, "authentication")
    secret_part = headers.get("Authorization", "").partition(" ")[2][3:]
    assert len(secret_part) < 8 or secret_part not in orjson.dumps(event).decode()


async def test_disabled_agent_gets_the_seeds_403_and_is_audited(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    await gateway.client.patch("/v1/agents/bot", headers=ADMIN_HEADERS,
                               content=b'{"enabled": false}')
    response = await gateway.chat(key)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["step"] == "authentication" and error["blocked_by"] == "authentication"
    assert error["reason"] == "agent 'bot' is disabled" and error["type"] == "policy_violation"
    assert error["code"] == "agent_disabled"
    event = await last_event(gateway)
    assert event["id"] == error["audit_id"] and event["blocked"] is True
    assert response.headers["x-tappass-audit-id"] == error["audit_id"]


async def test_a_refusal_that_cannot_be_audited_is_a_503_naming_its_audit_id(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await gateway.add_agent()
    await gateway.client.patch("/v1/agents/bot", headers=ADMIN_HEADERS,
                               content=b'{"enabled": false}')

    async def failing(events: list) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(gateway.services.store, "append_audit", failing)
    response = await gateway.chat(key)
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["code"], error["type"], error["retryable"]) == (
        "audit_unavailable", "storage_error", True)
    assert response.headers["x-tappass-audit-id"].startswith("ae_")


async def test_rotated_key_is_rejected_at_once(gateway: Gateway) -> None:
    old = await gateway.add_agent()
    assert (await gateway.chat(old)).status_code == 200
    rotated = await gateway.client.post("/v1/agents/bot/rotate-key", headers=ADMIN_HEADERS)
    new = rotated.json()["api_key"]
    assert (await gateway.chat(old)).status_code == 401
    assert (await gateway.chat(new)).status_code == 200


@pytest.mark.parametrize("body, field", [
    (b"not json", "body"),
    (b"[]", "body"),
    (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
    (b'{"model": "tappass/echo"}', "messages"),
    (b'{"model": "tappass/echo", "messages": []}', "messages"),
    (b'{"model": "tappass/echo", "messages": ["hi"]}', "messages[0]"),
    (b'{"model": "tappass/echo", "messages": [{"content": "x"}]}', "messages[0].role"),
    (b'{"model": "tappass/echo", "messages": [{"role": "user", "content": 5}]}',
     "messages[0].content"),
    (b'{"model": "tappass/echo", "messages": [{"role": "user", "content": "x"}], '
     b'"max_tokens": -1}', "max_tokens"),
    (b'{"model": "tappass/echo", "messages": [{"role": "user", "content": "x"}], '
     b'"stream": "yes"}', "stream"),
])
async def test_malformed_requests_are_400_naming_the_field(gateway: Gateway, body: bytes,
                                                            field: str) -> None:
    key = await gateway.add_agent()
    response = await gateway.client.post("/v1/chat/completions", content=body,
                                         headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == field
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert field in response.json()["error"]["message"]
    assert (await last_event(gateway))["status"] == "failed"


async def test_flags_header_overrides_agent_flags_and_is_echoed(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard", flags={"pii": "mask"})
    response = await gateway.chat(key, headers={"X-TapPass-Flags": "mode=observe, pii=redact"})
    assert response.headers["x-tappass-mode"] == "observe"
    assert response.headers["x-tappass-flags"] == "mode=observe, pii=redact"
    assert (await last_event(gateway))["flags"] == {"mode": "observe", "pii": "redact"}


async def test_unknown_flag_in_header_is_400_naming_it(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, headers={"X-TapPass-Flags": "colour=blue"})
    assert response.status_code == 400
    assert "colour" in response.json()["error"]["message"]


async def test_validate_input_blocks_in_enforce_with_the_seeds_shape(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard")
    response = await gateway.chat(key, "nul\x00byte")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["step"] == "validate_input" and "NUL" in error["reason"]
    event = await last_event(gateway)
    assert event["blocked_by"] == "validate_input" and event["status"] == "blocked"


async def test_observe_mode_records_would_block_and_answers(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard", flags={"mode": "observe"})
    response = await gateway.chat(key, "nul\x00byte")
    assert response.status_code == 200
    assert response.headers["x-tappass-would-block"] == (
        "validate_input:invalid%20input%3A%20input%20contains%20NUL%20characters")
    event = await last_event(gateway)
    assert event["status"] == "allowed"
    assert event["would_block"] == [{"step": "validate_input", "phase": "before",
                                     "reason": "invalid input: input contains NUL characters"}]


async def test_mode_off_skips_governance_but_still_calls_and_audits(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard", flags={"mode": "off"})
    response = await gateway.chat(key, "nul\x00byte")
    assert response.status_code == 200
    verdicts = {s["step"]: s["verdict"] for s in (await last_event(gateway))["steps"]}
    assert verdicts["validate_input"] == "skipped" and verdicts["llm_call"] == "allow"
    assert verdicts["cost_tracking"] == "allow"


async def test_rate_limit_answers_429_with_retry_after() -> None:
    async for gateway in gateway_with(rate_limit_rpm=2):
        await _check_rate_limit(gateway)


async def _check_rate_limit(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard")
    statuses = [(await gateway.chat(key)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = await gateway.chat(key)
    assert response.json()["error"]["step"] == "rate_limit"
    assert int(response.headers["retry-after"]) >= 1


async def test_a_failing_step_fails_closed_with_503(gateway: Gateway,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    key = await gateway.add_agent(preset="starter")
    step = gateway.services.catalog.pipeline("starter").phases["before"][0].step

    async def broken(ctx: object) -> None:
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(step, "run", broken)
    response = await gateway.chat(key)
    assert response.status_code == 503
    assert response.json()["error"]["step"] == "validate_input"
    event = await last_event(gateway)
    assert event["status"] == "failed" and event["steps"][0]["verdict"] == "error"


async def test_audit_write_failure_denies_the_request(gateway: Gateway,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    key = await gateway.add_agent()

    async def failing(events: list) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(gateway.services.store, "append_audit", failing)
    response = await gateway.chat(key)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_unavailable"
    assert gateway.services.audit.failed >= 1


async def test_echo_streams_in_openai_sse_format(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, "one two", stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    chunks = [orjson.loads(e[6:]) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "one two"
    assert all("usage" not in c for c in chunks)
    assert (await last_event(gateway))["stream"] is True


async def test_unknown_route_is_a_json_404(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/nothing")
    assert response.status_code == 404
    assert "no route" in response.json()["error"]["message"]


async def test_audit_has_more_only_when_older_events_remain(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    for _ in range(3):
        await gateway.chat(key)
    two = (await gateway.client.get("/v1/audit?limit=2", headers=ADMIN_HEADERS)).json()
    three = (await gateway.client.get("/v1/audit?limit=3", headers=ADMIN_HEADERS)).json()
    assert (two["count"], two["has_more"]) == (2, True)
    assert (three["count"], three["has_more"]) == (3, False)
    bad = await gateway.client.get("/v1/audit?limit=0", headers=ADMIN_HEADERS)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"
