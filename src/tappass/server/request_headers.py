"""Bounds on the TapPass request headers an agent sends (`X-Session-Id`, `X-TapPass-Flags`).

Both end up in state keys, audit events and error messages, so they are checked for length
and character set before anything uses them; a bad one is a 400 naming the header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request

from tappass.clip import clip
from tappass.errors import RequestError
from tappass.tools import scopes

MAX_SESSION_ID = 128
MAX_FLAGS_HEADER = 512
_SESSION_ID = re.compile(r"[A-Za-z0-9._:-]+")
_PRINTABLE = re.compile(r"[ -~]*")  # printable ASCII, space included
SCOPES_HEADER = scopes.HEADER.encode("latin-1")


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


@dataclass(frozen=True, slots=True)
class TapPassHeaders:
    """The TapPass request headers, checked; None when absent (or an empty session id)."""

    flags: str | None = None
    session_id: str | None = None
    scopes: str | None = None


def read_request_headers(request: Request) -> TapPassHeaders:
    """One pass over the raw headers: `X-Session-Id` and `X-TapPass-Flags` checked (every
    copy; RequestError 400 names the header), the first copy of each kept, as Starlette's
    lookup would, with `X-TapPass-User-Scopes`."""
    flags = session_id = scopes = None
    session_seen = False
    for name, value in request.scope["headers"]:
        if name == b"x-session-id":
            if value:  # an empty header means no session, as before
                checked = check_session_id(value.decode("latin-1"))
                if not session_seen:
                    session_id = checked
            session_seen = True
        elif name == b"x-tappass-flags":
            checked = check_flags_header(value.decode("latin-1"))
            if flags is None:
                flags = checked
        elif name == SCOPES_HEADER and scopes is None:
            scopes = value.decode("latin-1")
    return TapPassHeaders(flags, session_id, scopes)
