"""`clip()`: how much of a client's input an error message or audit field may show.

Messages that name a bad value quote only a short prefix of it, so a megabyte header or
body field never comes back in a response, a log line or an audit row.
"""

from __future__ import annotations

SHOWN_CHARS = 40


def clip(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr` of a value, cut to its first `limit` characters with the full length noted."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"
