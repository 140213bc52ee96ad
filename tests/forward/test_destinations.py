"""Wire details of the destinations that need no receiver."""

from __future__ import annotations

import httpx
import orjson

from tappass.forward.destinations import SplunkHec, hec_url, rendered
from tappass.forward.siem_config import SiemConfig
from tests.support.siem_receiver import split_concatenated


def test_hec_url_accepts_the_seeds_collector_url() -> None:
    assert hec_url("https://s:8088/services/collector") == \
        "https://s:8088/services/collector/event"
    assert hec_url("https://s:8088/services/collector/event/") == \
        "https://s:8088/services/collector/event"
    assert hec_url("https://s:8088") == "https://s:8088/services/collector/event"


def test_hec_envelopes_carry_time_and_the_event_id() -> None:
    config = SiemConfig(True, "splunk_hec", "https://s:8088", "ocsf", "all", token="t")
    hec = SplunkHec(config, httpx.AsyncClient())
    event = {"id": "ae_1", "timestamp": "2026-12-01T00:00:01.500000Z", "status": "allowed",
             "blocked": False, "steps": []}
    [envelope] = split_concatenated((hec.envelope(event) + b"").decode())
    assert envelope["time"] == 1796083201.5 and envelope["fields"] == {"event_id": "ae_1"}
    assert envelope["sourcetype"] == "ocsf" and envelope["event"]["class_uid"] == 6003
    assert orjson.loads(hec.envelope(event)) == envelope


def test_rendered_formats() -> None:
    event = {"id": "ae_1", "status": "allowed", "blocked": False}
    assert rendered(event, "json") == event
    assert rendered(event, "cef").startswith("CEF:0|")
    assert rendered(event, "ocsf")["metadata"]["uid"] == "ae_1"


async def test_json_webhook_sends_the_stored_events_as_one_array() -> None:
    from datetime import UTC, datetime

    from tappass.forward.destinations import JsonWebhook
    from tappass.forward.outbox import OutboxItem

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    config = SiemConfig(True, "webhook", "http://siem/in", "json", "all", token="tok")
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        items = [OutboxItem(n, "siem", f"ae_{n}", orjson.dumps({"id": f"ae_{n}"}).decode(), 0,
                            datetime.now(UTC)) for n in range(3)]
        await JsonWebhook(config, client).send(items)
    assert orjson.loads(seen[0].content) == [{"id": "ae_0"}, {"id": "ae_1"}, {"id": "ae_2"}]
    assert seen[0].headers["authorization"] == "Bearer tok"
