"""Bounded requests against the real gateway process: raw sockets play the hostile clients.

One gateway with small limits (4 KB body, 2 KB head, 0.5 s deadlines, 5 auth failures per
2 s) serves every test but the connection cap, which has its own gateway.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e

LIMITS = {"TAPPASS_MAX_BODY_BYTES": "4096", "TAPPASS_MAX_HEADER_BYTES": "2048",
          "TAPPASS_HEADER_TIMEOUT": "0.5", "TAPPASS_BODY_TIMEOUT": "0.5",
          "TAPPASS_KEEPALIVE_TIMEOUT": "0.5", "TAPPASS_AUTH_FAILURE_LIMIT": "5",
          "TAPPASS_AUTH_FAILURE_WINDOW": "2"}
WAIT = 5.0  # a socket read that takes this long means the gateway never answered


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("limits"), env=LIMITS) as gateway:
        yield gateway


def connect(gw: Gateway) -> socket.socket:
    host, port = gw.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response off the socket (Content-Length framed): status, headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response; got {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def error_of(body: bytes) -> dict[str, str]:
    error = json.loads(body)["error"]
    assert isinstance(error, dict) and {"message", "type", "code"} <= set(error)
    return error


def register(gw: Gateway, name: str) -> str:
    response = httpx.post(f"{gw.url}/v1/agents", headers=gw.admin_headers,
                          json={"name": name, "preset": "starter"})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def health_answers(gw: Gateway) -> bool:
    return httpx.get(f"{gw.url}/health/live", timeout=WAIT).status_code == 200


POST_HEAD = ("POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
             "Content-Type: application/json\r\n")


# -- body size -----------------------------------------------------------------------

def test_declared_body_over_the_limit_is_413_before_any_of_it_is_sent(gw: Gateway) -> None:
    with connect(gw) as sock:
        sock.sendall(f"{POST_HEAD}Content-Length: 100000000\r\n\r\n".encode())
        status, headers, body = read_response(sock)  # answered with no body byte sent
        assert status == 413 and headers["connection"] == "close"
        error = error_of(body)
        assert error["code"] == "body_too_large" and "4096" in error["message"]
        assert closed_by_server(sock)


def test_chunked_body_over_the_limit_is_413_and_the_rest_is_not_read(gw: Gateway) -> None:
    key = register(gw, "chunked")
    with connect(gw) as sock:
        sock.sendall(f"{POST_HEAD}Authorization: Bearer {key}\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        for _ in range(5):  # 5,000 bytes of a body with no end in sight
            sock.sendall(b"3e8\r\n" + b"x" * 1000 + b"\r\n")
        status, _, body = read_response(sock)
        assert status == 413 and error_of(body)["code"] == "body_too_large"
        with pytest.raises(OSError):  # the gateway closed: the rest cannot be delivered
            for _ in range(1600):
                sock.sendall(b"1000\r\n" + b"y" * 4096 + b"\r\n")


# -- header size ---------------------------------------------------------------------

def test_request_head_over_the_limit_is_431(gw: Gateway) -> None:
    with connect(gw) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n")
        status, _, body = read_response(sock)
        assert status == 431 and error_of(body)["code"] == "headers_too_large"
        assert closed_by_server(sock)


def test_oversized_head_is_refused_while_it_is_still_arriving(gw: Gateway) -> None:
    with connect(gw) as sock:  # the head never ends: the gateway must not wait for it
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\nX-Big: " + b"a" * 3000)
        status, _, body = read_response(sock)
        assert status == 431 and "TAPPASS_MAX_HEADER_BYTES" in error_of(body)["message"]


def test_body_and_pipelined_requests_in_one_read_do_not_count_as_head(gw: Gateway) -> None:
    key = register(gw, "one-read")
    body = json.dumps({"model": "tappass/echo",
                       "messages": [{"role": "user", "content": "b" * 3000}]}).encode()
    post = (f"{POST_HEAD}Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)
    get = b"GET /health/live HTTP/1.1\r\nHost: gw\r\nX-Pad: " + b"p" * 1000 + b"\r\n\r\n"
    with connect(gw) as sock:  # 3 KB body + 3 pipelined heads of 1 KB, all in one write
        sock.sendall(post + get * 3)
        data = b""
        while data.count(b"HTTP/1.1 ") < 4:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {data!r}"
            data += chunk
        assert re.findall(rb"HTTP/1.1 (\d+)", data) == [b"200"] * 4


# -- deadlines -----------------------------------------------------------------------

def test_slow_header_client_is_closed_while_others_are_answered(gw: Gateway) -> None:
    with connect(gw) as slow, connect(gw) as silent:
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\n")  # ... and nothing more
        assert health_answers(gw)
        status, _, body = read_response(slow)
        assert status == 408 and "TAPPASS_HEADER_TIMEOUT" in error_of(body)["message"]
        assert closed_by_server(slow)
        assert closed_by_server(silent)  # connected, never sent a byte: closed too
        assert health_answers(gw)


def test_slow_body_client_is_closed_while_others_are_answered(gw: Gateway) -> None:
    key = register(gw, "slow-body")
    with connect(gw) as sock:
        sock.sendall(f"{POST_HEAD}Authorization: Bearer {key}\r\nContent-Length: 100\r\n\r\n"
                     '{"model"'.encode())
        assert health_answers(gw)
        status, _, body = read_response(sock)
        assert status == 408 and "TAPPASS_BODY_TIMEOUT" in error_of(body)["message"]
        assert closed_by_server(sock)
        assert health_answers(gw)


def test_idle_keep_alive_connection_is_closed(gw: Gateway) -> None:
    with connect(gw) as sock:
        sock.settimeout(3.0)  # below uvicorn's default of 5 s
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert read_response(sock)[0] == 200
        assert closed_by_server(sock)


# -- TapPass headers -----------------------------------------------------------------

@pytest.mark.parametrize(("header", "value"), [
    ("X-Session-Id", "s" * 1000),
    ("X-Session-Id", "my session <script>"),
    ("X-TapPass-Flags", "mode=" + "o" * 1500),
    ("X-TapPass-Flags", "mode=observe\xe9"),
])
def test_bad_tappass_header_is_400_naming_it_with_a_short_echo(gw: Gateway, header: str,
                                                               value: str) -> None:
    key = register(gw, f"hdr-{abs(hash((header, value))) % 10**8}")
    response = httpx.post(f"{gw.url}/v1/chat/completions",
                          headers={"Authorization": f"Bearer {key}",
                                   header: value.encode("latin-1")},
                          json={"model": "tappass/echo",
                                "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == header and header in error["message"]
    assert len(error["message"]) < 300


def test_bad_flag_value_is_echoed_only_as_a_prefix(gw: Gateway) -> None:
    key = register(gw, "hdr-flag-value")
    value = "mode=" + "q" * 500  # within the header's bounds, an invalid flag value
    response = httpx.post(f"{gw.url}/v1/chat/completions",
                          headers={"Authorization": f"Bearer {key}", "X-TapPass-Flags": value},
                          json={"model": "tappass/echo",
                                "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "invalid value" in message and "q" * 41 not in message and len(message) < 300
    audit_id = response.headers["X-TapPass-Audit-Id"]
    events = httpx.get(f"{gw.url}/v1/audit", headers=gw.admin_headers,
                       params={"agent": "hdr-flag-value"}).json()["data"]
    assert [e["reason"] for e in events if e["id"] == audit_id] == [message]


# -- authentication flood ------------------------------------------------------------

def test_auth_failure_flood_is_429_with_one_summary_event(gw: Gateway) -> None:
    statuses = []
    with httpx.Client(base_url=gw.url) as client:  # one connection: a quick burst
        responses = [client.post("/v1/chat/completions",
                                 headers={"Authorization": f"Bearer tp_wrong-key-{i}"},
                                 json={"model": "tappass/echo", "messages": []})
                     for i in range(12)]
    for response in responses:
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"]["code"] == "auth_rate_limited"
    assert statuses == [401] * 5 + [429] * 7
    deadline = time.monotonic() + WAIT
    while True:  # the summary is written when the 2 s window ends
        events = [e for e in httpx.get(f"{gw.url}/v1/audit", headers=gw.admin_headers,
                                       params={"limit": 1000}).json()["data"]
                  if e["blocked_by"] == "authentication" and e["agent"] is None]
        summaries = [e for e in events if e["http_status"] == 429]
        if summaries or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len([e for e in events if e["http_status"] == 401]) == 5
    assert len(summaries) == 1 and summaries[0]["count"] == 7
    assert summaries[0]["client"] == "127.0.0.1" and "7 more failed" in summaries[0]["reason"]


# -- connection cap ------------------------------------------------------------------

def test_connections_beyond_the_cap_get_a_clear_503(tmp_path_factory: pytest.TempPathFactory
                                                    ) -> None:
    env = {"TAPPASS_MAX_CONNECTIONS": "3"}
    with running_gateway(tmp_path_factory.mktemp("cap"), env=env) as gw:
        held: list[socket.socket] = []
        try:
            refused = None
            for _ in range(5):
                sock = connect(gw)
                held.append(sock)
                sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: gw\r\n\r\n")
                status, headers, body = read_response(sock)
                if status == 503:
                    refused = (headers, error_of(body))
                    break
                assert status == 200
            assert refused is not None and len(held) <= 4
            headers, error = refused
            assert error["code"] == "too_many_connections" and "3 open connections" in \
                error["message"] and headers["retry-after"] == "1"
            held[0].sendall(b"GET /health/live HTTP/1.1\r\nHost: gw\r\n\r\n")
            assert read_response(held[0])[0] == 200  # connections within the cap still work
        finally:
            for sock in held:
                sock.close()
