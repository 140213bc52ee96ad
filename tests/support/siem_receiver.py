"""Stand-in SIEM endpoints, run as their own process by the forwarding tests.

    python -m tests.support.siem_receiver hec     PORT OUT --token T
    python -m tests.support.siem_receiver webhook PORT OUT
    python -m tests.support.siem_receiver syslog  PORT OUT [--tls CERT KEY]

Each appends one JSON line per thing received to OUT (flushed at once, so the test reads it
while the receiver runs):
- hec: speaks the Splunk HTTP Event Collector protocol: only POST
  /services/collector/event with `Authorization: Splunk <token>` (else 401/404, like
  Splunk), the body read as JSON objects written back to back; one line per event
  envelope; answers {"text": "Success", "code": 0}.
- webhook: one line per request: {"path", "headers", "body"} (body as text).
- syslog: one line per TCP (or TLS) connection: {"raw": <bytes as latin-1 text>}.
"""

from __future__ import annotations

import json
import socketserver
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_lock = threading.Lock()


def _record(out: str, item: dict[str, Any]) -> None:
    with _lock, open(out, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(item) + "\n")
        fh.flush()


def split_concatenated(text: str) -> list[Any]:
    """HEC batches: JSON values back to back, optionally separated by whitespace."""
    decoder, items, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        value, i = decoder.raw_decode(text, i)
        items.append(value)
    return items


def _handler(kind: str, out: str, token: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if kind == "webhook":
                _record(out, {"path": self.path, "headers": dict(self.headers.items()),
                              "body": body})
                self._answer(200, {"ok": True})
                return
            if self.path != "/services/collector/event":
                self._answer(404, {"text": "The requested URL was not found", "code": 404})
                return
            if self.headers.get("Authorization") != f"Splunk {token}":
                self._answer(401, {"text": "Invalid token", "code": 4})
                return
            try:
                events = split_concatenated(body)
            except ValueError:
                self._answer(400, {"text": "Invalid data format", "code": 6})
                return
            if not events or any("event" not in e for e in events):
                self._answer(400, {"text": "Event field is required", "code": 12})
                return
            for event in events:
                _record(out, event)
            self._answer(200, {"text": "Success", "code": 0})

    return Handler


class _SyslogHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        raw = self.rfile.read()
        _record(self.server.out, {"raw": raw.decode("latin-1")})  # type: ignore[attr-defined]


def main(argv: list[str]) -> None:
    kind, port, out = argv[0], int(argv[1]), argv[2]
    token = argv[argv.index("--token") + 1] if "--token" in argv else None
    if kind == "syslog":
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server: Any = socketserver.ThreadingTCPServer(("127.0.0.1", port), _SyslogHandler)
        server.out = out
        if "--tls" in argv:
            cert, key = argv[argv.index("--tls") + 1: argv.index("--tls") + 3]
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
    else:
        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler(kind, out, token))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
