"""Admin API of forwarding in process: seed 002's bodies, tokens never echoed, secrets in
the vault when it is on, dead letters visible and requeued."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tappass.vault.cipher import new_key
from tests.conftest import ADMIN_HEADERS, Gateway, gateway_with

SEED_SIEM = {"enabled": True, "destination": {
    "type": "splunk_hec", "url": "https://client-splunk.internal:8088/services/collector",
    "token": "hec-secret-token"}, "format": "cef", "severity_filter": "detection"}
SEED_HOOK = {"url": "https://client-slack.webhook.url",
             "events": ["violation", "escalation", "anomaly"]}


@pytest.fixture
async def vaulted() -> AsyncIterator[Gateway]:
    async for gw in gateway_with(vault_key=new_key()):
        yield gw


async def test_seed_siem_config_round_trips_without_the_token(gateway: Gateway) -> None:
    put = await gateway.client.put("/admin/siem/config", headers=ADMIN_HEADERS,
                                   json=SEED_SIEM)
    assert put.status_code == 200, put.text
    got = (await gateway.client.get("/admin/siem/config", headers=ADMIN_HEADERS)).json()
    assert "hec-secret-token" not in put.text + str(got)
    assert got["destination"] == {"type": "splunk_hec", "token_set": True,
                                  "url": SEED_SIEM["destination"]["url"]}
    assert (got["format"], got["severity_filter"], got["token_storage"]) == (
        "cef", "detection", "plain")
    # sending back what GET shows keeps the token (same destination)
    again = {k: got[k] for k in ("enabled", "format", "severity_filter")}
    again["destination"] = {"type": "splunk_hec", "url": got["destination"]["url"]}
    assert (await gateway.client.put("/admin/siem/config", headers=ADMIN_HEADERS,
                                     json=again)).json()["destination"]["token_set"]
    assert gateway.services.forwarding.siem.token == "hec-secret-token"


async def test_with_the_vault_on_the_token_is_sealed_in_it(vaulted: Gateway) -> None:
    put = await vaulted.client.put("/admin/siem/config", headers=ADMIN_HEADERS,
                                   json=SEED_SIEM)
    assert put.json()["token_storage"] == "vault"
    stored = await vaulted.services.store.get_meta("siem_config")
    assert "hec-secret-token" not in stored
    sealed = [s.sealed for s in await vaulted.services.store.list_secrets()]
    assert sealed and all("hec-secret-token" not in s for s in sealed)
    assert vaulted.services.forwarding.siem.token == "hec-secret-token"


async def test_seed_webhook_is_created_listed_and_deleted(vaulted: Gateway) -> None:
    created = await vaulted.client.post("/admin/webhooks", headers=ADMIN_HEADERS,
                                        json=SEED_HOOK)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == SEED_HOOK["events"]
    assert body["secret_storage"] == "vault"
    listed = (await vaulted.client.get("/admin/webhooks", headers=ADMIN_HEADERS)).json()
    assert [h["id"] for h in listed["data"]] == [body["id"]]
    assert body["secret"] not in str(listed)
    deleted = await vaulted.client.delete(f"/admin/webhooks/{body['id']}",
                                          headers=ADMIN_HEADERS)
    assert deleted.status_code == 200
    assert (await vaulted.client.get("/admin/webhooks", headers=ADMIN_HEADERS)).json()[
        "data"] == []
    assert await vaulted.services.store.list_secrets() == []
    missing = await vaulted.client.delete(f"/admin/webhooks/{body['id']}",
                                          headers=ADMIN_HEADERS)
    assert missing.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "not a url"}, "url"), ({"url": "https://x", "events": ["breach"]}, "events"),
    ({"url": "https://x", "events": []}, "events"), ({"url": "https://x", "to": 1}, "to")])
async def test_bad_webhooks_are_400_naming_the_field(gateway: Gateway, body: dict,
                                                     field: str) -> None:
    response = await gateway.client.post("/admin/webhooks", headers=ADMIN_HEADERS, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")


async def test_events_and_violations_reach_the_outbox_with_the_audit_write(
        gateway: Gateway) -> None:
    await gateway.client.put("/admin/siem/config", headers=ADMIN_HEADERS, json={
        **SEED_SIEM, "destination": {"type": "webhook", "url": "http://127.0.0.1:9/x"},
        "severity_filter": "all"})
    hook = (await gateway.client.post("/admin/webhooks", headers=ADMIN_HEADERS,
                                      json={"url": "http://127.0.0.1:9/h",
                                            "events": ["violation"]})).json()
    await gateway.services.forwarding.close()  # stop sending: look at the queue
    key = await gateway.add_agent(preset="standard")
    await gateway.services.forwarding.load()
    assert (await gateway.chat(key, "hello")).status_code == 200
    assert (await gateway.chat(key, "nul\x00byte")).status_code == 403
    outbox = gateway.services.store.outbox
    assert len(await outbox.pending("siem", 10)) == 2
    [alert] = await outbox.pending(f"webhook:{hook['id']}", 10)
    assert '"type":"violation"' in (alert.body or "")


async def test_dead_letters_show_in_health_and_are_requeued(gateway: Gateway) -> None:
    await gateway.client.put("/admin/siem/config", headers=ADMIN_HEADERS, json={
        **SEED_SIEM, "destination": {"type": "webhook", "url": "http://127.0.0.1:9/x"}})
    await gateway.services.forwarding.close()
    await gateway.services.forwarding.load()
    key = await gateway.add_agent(preset="standard")
    await gateway.chat(key, "nul\x00byte")
    outbox = gateway.services.store.outbox
    items = await outbox.pending("siem", 10)
    await outbox.failed([i.seq for i in items], "HTTP 400", items[0].next_at, 1,
                        permanent=True)
    detailed = (await gateway.client.get("/health/detailed", headers=ADMIN_HEADERS)).json()
    assert detailed["forwarding"]["status"] == "dead_letters"
    assert detailed["forwarding"]["sinks"]["siem"]["dead"] == 1
    retry = await gateway.client.post("/admin/siem/dead-letters/retry?sink=siem",
                                      headers=ADMIN_HEADERS)
    assert retry.json()["requeued"] == 1
    assert len(await outbox.pending("siem", 10)) == 1


async def test_forwarding_admin_routes_need_the_admin_key(gateway: Gateway) -> None:
    for method, path in [("GET", "/admin/siem/config"), ("PUT", "/admin/siem/config"),
                         ("POST", "/admin/webhooks"), ("GET", "/admin/webhooks")]:
        assert (await gateway.client.request(method, path)).status_code == 401
