"""Bounds on the TapPass request headers an agent sends (`X-Session-Id`, `X-TapPass-Flags`).

Both end up in state keys, audit events and error messages, so they are checked for length
and character set before anything uses them; a bad one is a 400 naming the header.
"""

from __future__ import annotations

import re

from starlette.requests import Request

from tappass.clip import clip
from tappass.errors import RequestError

MAX_SESSION_ID = 128
MAX_FLAGS_HEADER = 512
_SESSION_ID = re.compile(r"[A-Za-z0-9._:-]+")
_PRINTABLE = re.compile(r"[ -~]*")  # printable ASCII, space included


def _invalid(header: str, value: str, expected: str) -> RequestError:
    return RequestError(f"{header}: expected {expected}, got {clip(value)}", field=header,
                        code="invalid_header")


def check_session_id(value: str) -> str:
    if len(value) > MAX_SESSION_ID or not _SESSION_ID.fullmatch(value):
        raise _invalid("X-Session-Id", value, f"1-{MAX_SESSION_ID} characters of letters, "
                       "digits, '.', '_', ':' or '-'")
    return value


def check_flags_header(value: str) -> str:
    if len(value) > MAX_FLAGS_HEADER or not _PRINTABLE.fullmatch(value):
        raise _invalid("X-TapPass-Flags", value, f"at most {MAX_FLAGS_HEADER} characters of "
                       "printable ASCII, e.g. 'mode=observe, pii=mask'")
    return value


def check_request_headers(request: Request) -> None:
    """Raise RequestError (400) when `X-Session-Id` or `X-TapPass-Flags` is out of bounds."""
    for name, value in request.scope["headers"]:  # one pass over the raw headers
        if name == b"x-session-id":
            if value:  # an empty header means no session, as before
                check_session_id(value.decode("latin-1"))
        elif name == b"x-tappass-flags":
            check_flags_header(value.decode("latin-1"))
