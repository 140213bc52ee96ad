"""Which tools an agent may use: allow and deny lists of names or globs (`delete_*`).

A deny entry always wins; with an allow list, only the tools it matches are allowed.
Lists come from the agent (`PUT /v1/agents/{name}/tools`) and from the pipeline's
`tool_permissions` options; both apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from tappass.errors import RequestError

PATTERN_RE = re.compile(r"[A-Za-z0-9_.:/*?\[\]-]{1,128}")


@dataclass(frozen=True, slots=True)
class ToolAccess:
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    default_deny: bool = False    # no allow list given: deny everything not allowed

    def refusal(self, name: str) -> str | None:
        """Why the tool may not be used, or None when it may."""
        for pattern in self.deny:
            if fnmatchcase(name, pattern):
                shown = "" if pattern == name else f" (matches {pattern!r})"
                return f"tool {name!r} is on the deny list{shown}"
        if self.allow:
            if any(fnmatchcase(name, pattern) for pattern in self.allow):
                return None
            return f"tool {name!r} is not on the allow list"
        if self.default_deny:
            return f"tool {name!r} is not allowed: no tools are allowed for this agent"
        return None


def combine(agent_tools: dict[str, list[str]], allowed: Iterable[str] = (),
            denied: Iterable[str] = (), default: str = "allow") -> ToolAccess:
    """The agent's lists plus the pipeline's: denies add up; the agent's allow list, when
    set, replaces the pipeline's."""
    allow = tuple(agent_tools.get("allow") or ()) or tuple(allowed)
    deny = tuple(agent_tools.get("deny") or ()) + tuple(denied)
    return ToolAccess(allow, deny, default == "deny")


def validate_patterns(value: Any, field: str) -> list[str]:
    """A list of tool names or globs; RequestError naming the field and the bad entry."""
    if not isinstance(value, list):
        raise RequestError(f"{field}: expected a list of tool names or globs such as "
                           '"gmail_search" or "delete_*"', field=field)
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not PATTERN_RE.fullmatch(item):
            raise RequestError(f"{field}[{i}]: {item!r} is not a tool name or glob (1-128 "
                               "letters, digits and _ . : / - with * ? [ ] as wildcards)",
                               field=field)
        if item not in out:
            out.append(item)
    return out


def validate_tools(value: Any) -> dict[str, list[str]]:
    """The agent's `tools` setting: {"allow": [...], "deny": [...]}, both optional."""
    if not isinstance(value, dict):
        raise RequestError('tools: expected an object such as {"allow": ["gmail_*"], '
                           '"deny": ["delete_*"]}', field="tools")
    unknown = sorted(set(value) - {"allow", "deny"})
    if unknown:
        raise RequestError(f"tools.{unknown[0]}: unknown field; allowed fields: allow, deny",
                           field=f"tools.{unknown[0]}")
    return {key: validate_patterns(value.get(key) or [], f"tools.{key}")
            for key in ("allow", "deny")}
