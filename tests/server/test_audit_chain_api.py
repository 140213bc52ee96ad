"""The tamper-evident audit through the gateway: events of real requests (streams too)
verify, the public key is served, the JSONL export streams what `tappass audit verify
--file` checks, and `tappass audit verify` reads the SQLite database directly."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import orjson
from click.testing import CliRunner

from tappass.app import create_app
from tappass.audit.signing import parse_public_key
from tappass.audit.verify import verify_lines
from tappass.cli.main import cli
from tappass.settings import load_settings
from tests.conftest import ADMIN, ADMIN_HEADERS, Gateway


async def export_lines(gateway: Gateway, **params: str) -> list[bytes]:
    response = await gateway.client.get("/v1/audit/export", headers=ADMIN_HEADERS,
                                        params={"format": "jsonl", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return response.content.splitlines(keepends=True)


async def test_requests_and_streams_make_a_chain_that_verifies_offline(
        gateway: Gateway) -> None:
    key = await gateway.add_agent("bot")
    for text in ("one", "two"):
        assert (await gateway.chat(key, text)).status_code == 200
    streamed = await gateway.chat(key, "three four", stream=True)
    assert streamed.status_code == 200
    assert (await gateway.chat("tp_wrong-key")).status_code == 401   # audited too
    pem = (await gateway.client.get("/v1/audit/pubkey", params={"format": "pem"})).text
    lines = await export_lines(gateway)
    report = verify_lines(lines, parse_public_key(pem))
    assert report.ok, report.as_dict()
    assert report.chained == len(lines) == 4
    assert report.links == 5          # the stream: its open link and its completion
    assert report.checkpoints >= 1    # the chain's signed genesis
    stream_event = orjson.loads(next(line for line in lines if b'"stream":true' in line))
    assert stream_event["status"] == "allowed" and "completion" in stream_event["chain"]


async def test_the_export_takes_the_audit_filters_and_names_bad_ones(gateway: Gateway) -> None:
    key = await gateway.add_agent("bot")
    other = await gateway.add_agent("other")
    await gateway.chat(key)
    await gateway.chat(other)
    lines = await export_lines(gateway, agent="other")
    assert [orjson.loads(line)["agent"] for line in lines] == ["other"]
    for params, field in (({"format": "xml"}, "format"), ({"limit": "5"}, "limit"),
                          ({"after": "yesterday"}, "after")):
        response = await gateway.client.get("/v1/audit/export", headers=ADMIN_HEADERS,
                                            params=params)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == field
    assert (await gateway.client.get("/v1/audit/export")).status_code == 401


async def test_the_public_key_is_public_and_matches_the_checkpoints(gateway: Gateway) -> None:
    info = (await gateway.client.get("/v1/audit/pubkey")).json()
    assert info["object"] == "audit.pubkey" and info["algorithm"] == "Ed25519"
    assert parse_public_key(info["public_key_base64"]) == parse_public_key(
        info["public_key_pem"])
    key = await gateway.add_agent("bot")
    await gateway.chat(key)
    (line,) = await export_lines(gateway)
    assert orjson.loads(line)["chain"]["key"] == info["key_id"]
    bad = await gateway.client.get("/v1/audit/pubkey", params={"format": "der"})
    assert bad.status_code == 400


async def test_the_signing_key_is_created_once_under_home_readable_only_by_its_owner(
        gateway: Gateway) -> None:
    path = Path(os.environ["TAPPASS_HOME"]) / "audit_signing_key.pem"
    assert path.stat().st_mode & 0o777 == 0o600


async def test_a_bad_signing_key_setting_is_a_clear_error() -> None:
    import pytest

    from tappass.errors import ConfigError
    from tappass.settings import load_settings
    with pytest.raises(ConfigError, match="TAPPASS_AUDIT_SIGNING_KEY.*PEM Ed25519"):
        load_settings(audit_signing_key="bm90IGEga2V5")


async def _four_calls_on_sqlite() -> tuple[Path, list[str]]:
    app = create_app(load_settings(storage="local", admin_api_key=ADMIN))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://gw") as client:
            gateway = Gateway(client, app)
            key = await gateway.add_agent("bot")
            ids = [(await gateway.chat(key, f"call {n}")).headers["X-TapPass-Audit-Id"]
                   for n in range(4)]
            return gateway.services.settings.sqlite_path, ids


def test_tappass_audit_verify_reads_the_database_and_finds_tampering() -> None:
    db, ids = asyncio.run(_four_calls_on_sqlite())
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "verify"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "OK: 4 chained events in 1 chain(s)" in result.output

    import sqlite3
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM audit_events WHERE id = ?", (ids[1],))
    conn.commit()
    conn.close()
    result = runner.invoke(cli, ["audit", "verify", "--json"], catch_exceptions=False)
    assert result.exit_code == 1
    problem = orjson.loads(result.output)["problem"]
    assert (problem["kind"], problem["event_id"]) == ("deleted", ids[1])
