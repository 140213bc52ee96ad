"""The TapPass request headers are read and checked in one pass over the raw headers."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from tappass.errors import RequestError
from tappass.server.request_headers import TapPassHeaders, read_request_headers


def _request(*headers: tuple[str, str]) -> Request:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


def test_each_header_is_read_and_the_others_ignored() -> None:
    got = read_request_headers(_request(
        ("authorization", "Bearer tp_x"), ("x-session-id", "s-1"),
        ("x-tappass-flags", "mode=observe"), ("x-tappass-user-scopes", "mail.read files")))
    assert got == TapPassHeaders(flags="mode=observe", session_id="s-1",
                                 scopes="mail.read files")
    assert read_request_headers(_request(("content-type", "application/json"))) == \
        TapPassHeaders()


def test_the_first_copy_counts_as_in_a_header_lookup_and_every_copy_is_checked() -> None:
    got = read_request_headers(_request(("x-session-id", ""), ("x-session-id", "s-2"),
                                        ("x-tappass-flags", "pii=mask"),
                                        ("x-tappass-flags", "mode=observe")))
    assert got.session_id is None  # an empty first header means no session
    assert got.flags == "pii=mask"
    with pytest.raises(RequestError) as bad:
        read_request_headers(_request(("x-session-id", "s-1"), ("x-session-id", "bad id!")))
    assert bad.value.field == "X-Session-Id"
    with pytest.raises(RequestError) as bad:
        read_request_headers(_request(("x-tappass-flags", "mode=observe"),
                                      ("x-tappass-flags", "x" * 600)))
    assert bad.value.field == "X-TapPass-Flags"
