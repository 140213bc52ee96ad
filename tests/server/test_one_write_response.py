"""The gateway's HTTP protocol writes a response with a Content-Length body in one write."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tappass.server.http_protocol import _OneWriteResponse


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def cycle(method: str = "POST", chunked: bool | None = False, length: int = 4) -> Any:
    return SimpleNamespace(response_started=False, chunked_encoding=chunked,
                           expected_content_length=length, scope={"method": method})


def test_head_and_body_of_a_sized_response_leave_in_one_write() -> None:
    transport, c = Transport(), cycle()
    wrapped = _OneWriteResponse(transport, c)  # type: ignore[arg-type]
    wrapped.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # before the response: straight through
    c.response_started = True
    wrapped.write(b"HEAD\r\n\r\n")
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    wrapped.write(b"body")
    wrapped.write(b"more")
    assert transport.writes[1:] == [b"HEAD\r\n\r\nbody", b"more"]


@pytest.mark.parametrize("kind", [
    {"chunked": True, "length": 0}, {"chunked": False, "length": 0}, {"method": "HEAD"}])
def test_chunked_empty_and_head_answers_are_written_as_they_come(kind: dict[str, Any]) -> None:
    transport, c = Transport(), cycle(**kind)
    wrapped = _OneWriteResponse(transport, c)  # type: ignore[arg-type]
    c.response_started = True
    wrapped.write(b"HEAD\r\n\r\n")
    assert transport.writes == [b"HEAD\r\n\r\n"]


def test_a_held_head_is_written_before_the_connection_closes() -> None:
    transport, c = Transport(), cycle()
    wrapped = _OneWriteResponse(transport, c)  # type: ignore[arg-type]
    c.response_started = True
    wrapped.write(b"HEAD\r\n\r\n")
    wrapped.close()
    assert transport.writes == [b"HEAD\r\n\r\n"] and transport.closed and wrapped.is_closing()
