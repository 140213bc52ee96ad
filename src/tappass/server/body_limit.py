"""`BodyLimit`: an ASGI middleware that caps the size of a request body.

A `Content-Length` over the limit is answered 413 before any of the body is read (and
before authentication). A chunked body is counted as the application reads it: once it
passes the limit the client gets 413, the application sees a disconnect, and what it would
still send is dropped. The 413 closes the connection, so the rest is never read. Bodies are
still read only when the application asks (an unauthenticated request is answered 401
without its body being buffered); a body with a `Content-Length` within the limit passes
untouched, since the server's framing stops it at that length.

A client that goes away before its body is complete (including one the server cut off at
`TAPPASS_BODY_TIMEOUT`) makes the application's read raise `ClientDisconnect`: there is
no one left to answer, so that ends the request quietly instead of as a server error.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tappass.server.responses import error


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = _declared_body(scope)
        if length is None and not chunked:  # no body (GET, or an empty POST)
            await self.app(scope, receive, send)
            return
        if length is not None and length > self.max_bytes:
            await self._too_large(scope, send, length)
            return
        try:
            if chunked:
                await _Counted(self, scope, receive, send).run()
            else:
                await self.app(scope, receive, send)
        except ClientDisconnect:
            pass

    async def _too_large(self, scope: Scope, send: Send, length: int | None) -> None:
        size = f"{length} bytes, over" if length is not None else "over"
        response = error(
            413, f"request body too large: {size} the limit of {self.max_bytes} bytes; send "
                 "a smaller request (the limit is the gateway's TAPPASS_MAX_BODY_BYTES)",
            code="body_too_large", param="body", headers={"Connection": "close"})
        await response(scope, _no_receive, send)


class _Counted:
    """One chunked request: count the body as it is read; refuse it past the limit."""

    def __init__(self, limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit, self.scope, self._receive, self._send = limit, scope, receive, send
        self.size = 0
        self.refused = False

    async def run(self) -> None:
        await self.limit.app(self.scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit.max_bytes:
                self.refused = True
                await self.limit._too_large(self.scope, self._send, None)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if not self.refused:  # after a 413 the application has no one to answer
            await self._send(message)


def _declared_body(scope: Scope) -> tuple[int | None, bool]:
    """(Content-Length, chunked) from the request headers; length None when absent."""
    length: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if length == 0 and not chunked:
        return None, False
    return length, chunked


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
