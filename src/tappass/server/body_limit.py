"""`BodyLimit`: an ASGI middleware that caps the size of a request body.

A `Content-Length` over the limit is answered 413 before any of the body is read; a
chunked body is counted as it arrives and answered 413 as soon as it passes the limit.
Either way the connection is closed, so the rest is never read. A body within the limit is
read here, once, and handed to the application as one message (the gateway reads whole
bodies anyway). If the client goes away before its body is complete (including the server
closing a body that is too slow), the application is not called.
"""

from __future__ import annotations

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
        body = await self._read(receive)
        if body is None:  # the client went away, or the server closed it
            return
        if len(body) > self.max_bytes:
            await self._too_large(scope, send, None)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or as much as passes the limit; None on a disconnect."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            parts.append(chunk)
            size += len(chunk)
            if size > self.max_bytes or not message.get("more_body", False):
                return b"".join(parts) if len(parts) != 1 else parts[0]

    async def _too_large(self, scope: Scope, send: Send, length: int | None) -> None:
        size = f"{length} bytes, over" if length is not None else "over"
        response = error(
            413, f"request body too large: {size} the limit of {self.max_bytes} bytes; send "
                 "a smaller request (the limit is the gateway's TAPPASS_MAX_BODY_BYTES)",
            code="body_too_large", param="body", headers={"Connection": "close"})
        await response(scope, _no_receive, send)


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


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()  # later calls wait for a disconnect, as before
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
