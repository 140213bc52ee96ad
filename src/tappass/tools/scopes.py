"""End-user scopes: the agent passes the scopes of the user it acts for in a header
(`X-TapPass-User-Scopes: mail.read, files.read`), and tools that need a scope the user does
not hold are refused. Without the header, no narrowing applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

HEADER = "x-tappass-user-scopes"
STATE_KEY = "user_tool_scopes"


def parse_scopes(header: str | None) -> frozenset[str] | None:
    """The scopes in the header (comma or space separated), None when there is no header."""
    if header is None:
        return None
    return frozenset(s for s in header.replace(",", " ").split() if s)


def missing_scopes(name: str, held: frozenset[str],
                   required: Mapping[str, Sequence[str]]) -> list[str]:
    """Scopes the tool needs (every matching entry's) that the user does not hold."""
    needed = {scope for pattern, scopes in required.items() if fnmatchcase(name, pattern)
              for scope in scopes}
    return sorted(needed - held)


def refusal(name: str, held: frozenset[str] | None,
            required: Mapping[str, Sequence[str]]) -> str | None:
    if held is None:
        return None
    missing = missing_scopes(name, held, required)
    if not missing:
        return None
    return f"tool {name!r} needs the user scope(s) {', '.join(missing)}, which the user " \
           "does not hold"
