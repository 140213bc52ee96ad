"""SIEM forwarding and alert webhooks end to end: a real gateway process sends to real
receivers in other processes (tests/support/siem_receiver.py), across a receiver outage
and a gateway killed and started again."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tappass.forward import signing
from tests.support.fake_upstream import free_port
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e

TOKEN = "7c2f9b0e-0000-4a1b-9d2e-hec-test-token"
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def receiver(kind: str, port: int, out: Path,
             *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.siem_receiver", kind, str(port), str(out),
         "--token", TOKEN, *extra], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
        yield process
    finally:
        process.kill()
        process.wait()


def records(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line]


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def admin(gw: Gateway) -> httpx.Client:
    return httpx.Client(base_url=gw.url, headers=gw.admin_headers, timeout=10)


def new_agent(gw: Gateway, name: str) -> str:
    with admin(gw) as client:
        response = client.post("/v1/agents", json={"name": name, "preset": "standard"})
        if response.status_code == 409:
            return ""
        assert response.status_code == 201, response.text
        return str(response.json()["api_key"])


def chat(gw: Gateway, key: str, content: str) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/chat/completions", headers={
        "Authorization": f"Bearer {key}"}, json={
        "model": "tappass/echo", "messages": [{"role": "user", "content": content}]},
        timeout=10)


def first_seen(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def test_hec_events_arrive_in_order_across_an_outage_and_a_gateway_kill(
        tmp_path: Path) -> None:
    port, out = free_port(), tmp_path / "hec.jsonl"
    env = {"TAPPASS_FORWARD_POLL_SECONDS": "0.2", "TAPPASS_FORWARD_RETRY_MAX_SECONDS": "1"}
    sent: list[str] = []
    with running_gateway(tmp_path, args=("--storage", "local"), env=env) as gw:
        with admin(gw) as client:
            response = client.put("/admin/siem/config", json={
                "enabled": True, "destination": {
                    "type": "splunk_hec", "token": TOKEN,
                    "url": f"http://127.0.0.1:{port}/services/collector"},
                "format": "cef", "severity_filter": "all"})
            assert response.status_code == 200, response.text
            assert TOKEN not in response.text and response.json()["destination"]["token_set"]
        key = new_agent(gw, "hec-bot")
        with receiver("hec", port, out):
            for n in range(5):
                sent.append(chat(gw, key, f"hello {n}").headers["x-tappass-audit-id"])
            wait_for(lambda: len(records(out)) >= 5)
        # receiver down: events queue up in the outbox, the gateway keeps answering
        for n in range(5, 10):
            sent.append(chat(gw, key, f"hello {n}").headers["x-tappass-audit-id"])
        with admin(gw) as client:
            wait_for(lambda: client.get("/health/detailed").json()["forwarding"]["sinks"]
                     ["siem"]["this_process"]["failed_attempts"] >= 1)
            queued = client.get("/admin/siem/config").json()["delivery"]
            assert queued["pending"] >= 5 and queued["dead"] == 0
        gw.process.kill()  # no clean shutdown: only what was committed survives
        gw.process.wait()
    with running_gateway(tmp_path, args=("--storage", "local"), env=env) as gw:
        with receiver("hec", port, out):
            for n in range(10, 12):
                sent.append(chat(gw, key, f"hello {n}").headers["x-tappass-audit-id"])
            # the killed process still held the sink lease: the new one takes over after it
            # expires (a clean stop releases it at once)
            wait_for(lambda: len(set(ids_of(records(out)))) >= 12, timeout=45)
    got = records(out)
    assert all(e["sourcetype"] == "cef" and e["source"] == "tappass" for e in got)
    assert all(e["event"].startswith("CEF:0|TapPass|TapPass Gateway|") for e in got)
    assert first_seen(ids_of(got)) == sent  # nothing lost, first arrivals in order


def ids_of(events: list[dict[str, Any]]) -> list[str]:
    return [e["fields"]["event_id"] for e in events]


def test_webhook_siem_and_signed_violation_alerts(tmp_path: Path) -> None:
    siem_port, alert_port = free_port(), free_port()
    siem_out, alert_out = tmp_path / "siem.jsonl", tmp_path / "alerts.jsonl"
    env = {"TAPPASS_SIEM_WEBHOOK_URL": f"http://127.0.0.1:{siem_port}/ingest",
           "TAPPASS_FORWARD_POLL_SECONDS": "0.2"}
    with running_gateway(tmp_path, env=env) as gw, \
            receiver("webhook", siem_port, siem_out), \
            receiver("webhook", alert_port, alert_out):
        with admin(gw) as client:
            view = client.get("/admin/siem/config").json()
            assert (view["source"], view["format"]) == ("environment", "json")
            created = client.post("/admin/webhooks", json={
                "url": f"http://127.0.0.1:{alert_port}/hook",
                "events": ["violation", "escalation", "anomaly"]})
            assert created.status_code == 201, created.text
            secret = created.json()["secret"]
            listed = client.get("/admin/webhooks").json()["data"]
            assert [h["id"] for h in listed] == [created.json()["id"]]
            assert "secret" not in listed[0]
        key = new_agent(gw, "alert-bot")
        allowed = chat(gw, key, "hello").headers["x-tappass-audit-id"]
        blocked = chat(gw, key, "nul\x00byte")
        assert blocked.status_code == 403
        wait_for(lambda: len(records(alert_out)) >= 1 and len(siem_ids(siem_out)) >= 2)
    [delivery] = records(alert_out)
    body = delivery["body"].encode()
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    assert reference_verify(secret, body, headers)
    assert signing.verify(secret, body, headers["x-tappass-timestamp"],
                          headers["x-tappass-signature"])
    assert not reference_verify(secret, body.replace(b"alert-bot", b"other-bot"), headers)
    alert = json.loads(body)
    assert (alert["type"], alert["agent"], alert["blocked_by"]) == (
        "violation", "alert-bot", "validate_input")
    assert alert["audit_id"] == blocked.json()["error"]["audit_id"]
    assert headers["x-tappass-event"] == "violation"
    assert siem_ids(siem_out) == [allowed, alert["audit_id"]]


def siem_ids(out: Path) -> list[str]:
    return [event["id"] for r in records(out) for event in json.loads(r["body"])]


def reference_verify(secret: str, body: bytes, headers: dict[str, str],
                     now: float | None = None) -> bool:
    """Written from the documented scheme, not from the gateway's code."""
    import hashlib
    import hmac
    timestamp = headers["x-tappass-timestamp"]
    if abs((now or time.time()) - int(timestamp)) > 300:
        return False
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-tappass-signature"])


def test_syslog_over_tcp_is_rfc5424_with_octet_counting(tmp_path: Path) -> None:
    port, out = free_port(), tmp_path / "syslog.jsonl"
    with running_gateway(tmp_path, env={"TAPPASS_FORWARD_POLL_SECONDS": "0.2"}) as gw, \
            receiver("syslog", port, out):
        with admin(gw) as client:
            assert client.put("/admin/siem/config", json={
                "enabled": True, "destination": {"type": "syslog",
                                                 "url": f"syslog://127.0.0.1:{port}"},
                "format": "ocsf", "severity_filter": "block"}).status_code == 200
        key = new_agent(gw, "sys-bot")
        chat(gw, key, "hello")
        audit_id = chat(gw, key, "nul\x00byte").json()["error"]["audit_id"]
        wait_for(lambda: len(records(out)) >= 1)
    raw = "".join(r["raw"] for r in records(out)).encode("latin-1")
    messages = parse_octet_counted(raw)
    assert len(messages) == 1  # the filter forwards blocks only
    header, _, rest = messages[0].partition(b" [")
    pri_version, timestamp, host, app, procid, msgid = header.decode().split(" ")
    assert (pri_version, app, msgid) == ("<108>1", "tappass", "audit")  # 13 * 8 + warning
    assert timestamp.endswith("Z") and procid.isdigit() and host
    sd, _, msg = rest.partition(b"] ")
    assert sd == f'tappass@32473 eventId="{audit_id}"'.encode()
    event = json.loads(msg)
    assert event["class_uid"] == 2004 and event["metadata"]["uid"] == audit_id


def parse_octet_counted(raw: bytes) -> list[bytes]:
    """RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG, repeated."""
    messages, i = [], 0
    while i < len(raw):
        space = raw.index(b" ", i)
        length = int(raw[i:space])
        messages.append(raw[space + 1: space + 1 + length])
        i = space + 1 + length
    return messages


@pytest.mark.parametrize("body,field", [
    ({"enabled": True, "destination": {"type": "kafka", "url": "http://x"}}, "destination.type"),
    ({"destination": {"type": "webhook", "url": "ftp://x"}}, "destination.url"),
    ({"destination": {"type": "splunk_hec", "url": "https://s:8088"}}, "destination.token"),
    ({"destination": {"type": "syslog", "url": "syslog://host"}}, "destination.url"),
    ({"destination": {"type": "webhook", "url": "http://x"}, "format": "leef"}, "format"),
    ({"destination": {"type": "webhook", "url": "http://x"}, "severity_filter": "high"},
     "severity_filter"),
    ({"destination": {"type": "webhook", "url": "http://x"}, "colour": 1}, "colour")])
def test_bad_siem_config_is_400_naming_the_field(tmp_path: Path, body: dict[str, Any],
                                                 field: str, shared_gateway: Gateway) -> None:
    with admin(shared_gateway) as client:
        response = client.put("/admin/siem/config", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(f"{field}:")


@pytest.fixture(scope="module")
def shared_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("gw")) as gw:
        yield gw


def test_two_workers_send_every_event_once(tmp_path: Path) -> None:
    """Both workers write outbox rows; the sink's lease lets one send at a time, so no event
    is delivered twice when nothing fails, and none is missing."""
    port, out = free_port(), tmp_path / "siem.jsonl"
    env = {"TAPPASS_SIEM_WEBHOOK_URL": f"http://127.0.0.1:{port}/ingest",
           "TAPPASS_FORWARD_POLL_SECONDS": "0.1", "TAPPASS_FORWARD_BATCH_MAX": "5"}
    with running_gateway(tmp_path, args=("--storage", "local", "--workers", "2"),
                         env=env) as gw, receiver("webhook", port, out):
        key = new_agent(gw, "two-workers")
        pids, sent = set(), []
        for n in range(40):
            response = chat(gw, key, f"hello {n}")  # a new connection each: both workers
            sent.append(response.headers["x-tappass-audit-id"])
            pids.add(httpx.get(f"{gw.url}/health/detailed",
                               headers=gw.admin_headers).json()["pid"])
        wait_for(lambda: len(siem_ids(out)) >= 40)
        time.sleep(1)  # anything sent twice would arrive by now
    assert len(pids) == 2
    assert sorted(siem_ids(out)) == sorted(sent)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for `localhost`, trusted by the gateway through SSL_CERT_FILE."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_syslog_over_tls(tmp_path: Path) -> None:
    port, out = free_port(), tmp_path / "syslog-tls.jsonl"
    cert, key = self_signed(tmp_path)
    env = {"TAPPASS_FORWARD_POLL_SECONDS": "0.2", "SSL_CERT_FILE": str(cert)}
    with running_gateway(tmp_path, env=env) as gw, \
            receiver("syslog", port, out, "--tls", str(cert), str(key)):
        with admin(gw) as client:
            assert client.put("/admin/siem/config", json={
                "destination": {"type": "syslog", "url": f"syslog+tls://localhost:{port}"},
                "format": "cef"}).status_code == 200
        key_ = new_agent(gw, "tls-bot")
        audit_id = chat(gw, key_, "hello").headers["x-tappass-audit-id"]
        wait_for(lambda: len(records(out)) >= 1)
    [msg] = parse_octet_counted("".join(r["raw"] for r in records(out)).encode("latin-1"))
    assert f'eventId="{audit_id}"'.encode() in msg and b"CEF:0|TapPass|" in msg
