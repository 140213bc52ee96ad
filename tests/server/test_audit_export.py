"""`GET /v1/audit/export`: the audit trail streamed as JSON Lines, CEF or OCSF."""

from __future__ import annotations

import orjson
import pytest

from tests.audit.ocsf_schema import validate
from tests.conftest import ADMIN_HEADERS, Gateway


async def _traffic(gateway: Gateway) -> None:
    key = await gateway.add_agent(preset="standard")
    other = await gateway.add_agent(name="other")
    assert (await gateway.chat(key, "hello")).status_code == 200
    assert (await gateway.chat(key, "nul\x00byte")).status_code == 403
    assert (await gateway.chat(other, "hi")).status_code == 200


async def test_jsonl_export_streams_every_event_oldest_first(gateway: Gateway) -> None:
    await _traffic(gateway)
    response = await gateway.client.get("/v1/audit/export", headers=ADMIN_HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    events = [orjson.loads(line) for line in response.text.splitlines()]
    assert [(e["agent"], e["status"]) for e in events] == [
        ("bot", "allowed"), ("bot", "blocked"), ("other", "allowed")]


async def test_export_takes_the_audit_filters(gateway: Gateway) -> None:
    await _traffic(gateway)
    response = await gateway.client.get("/v1/audit/export?format=cef&agent=bot&blocked=true",
                                        headers=ADMIN_HEADERS)
    lines = response.text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("CEF:0|TapPass|TapPass Gateway|")
    assert "|tappass:blocked|Request blocked|8|" in lines[0] and "cs1=validate_input" in lines[0]


async def test_ocsf_export_validates(gateway: Gateway) -> None:
    await _traffic(gateway)
    response = await gateway.client.get("/v1/audit/export?format=ocsf", headers=ADMIN_HEADERS)
    events = [orjson.loads(line) for line in response.text.splitlines()]
    assert [e["class_uid"] for e in events] == [6003, 2004, 6003]
    assert all(validate(e) == [] for e in events)


@pytest.mark.parametrize(("query", "field"), [
    ("format=xml", "format"), ("limit=0", "limit"), ("colour=red", "colour"),
    ("after=yesterday", "after")])
async def test_bad_parameters_are_400_naming_the_field(gateway: Gateway, query: str,
                                                       field: str) -> None:
    response = await gateway.client.get(f"/v1/audit/export?{query}", headers=ADMIN_HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")


async def test_export_needs_the_admin_key(gateway: Gateway) -> None:
    assert (await gateway.client.get("/v1/audit/export")).status_code == 401
