"""Per-argument constraints on tool calls: subpath under a root, glob, regex, enum, deny
patterns, maximum length, required.

Constraints are keyed by tool name or glob, then by argument name (a dotted path reaches
into nested objects). Every constraint of every matching tool entry must hold.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tappass.pipeline.options import ArgumentConstraint
    from tappass.tools.calls import ToolCall

_MISSING = object()


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def lookup(arguments: Mapping[str, Any], path: str) -> Any:
    value: Any = arguments
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def within(root: str, value: str) -> bool:
    """True when `value` (absolute, or relative to `root`) stays under `root`."""
    if "\x00" in value or "\\" in value:
        return False
    base = posixpath.normpath("/" + root.strip("/")) if root.startswith("/") else \
        posixpath.normpath(root)
    target = posixpath.normpath(value if value.startswith("/") else posixpath.join(base, value))
    return target == base or target.startswith(base.rstrip("/") + "/")


def _value_problem(value: Any, rule: ArgumentConstraint) -> str | None:
    if rule.enum is not None and value not in rule.enum:
        return f"must be one of {', '.join(map(repr, rule.enum))}"
    if not isinstance(value, str):
        needs_text = (rule.subpath_of, rule.glob, rule.regex, rule.max_length,
                      rule.deny_patterns)
        return "must be a string" if any(needs_text) else None
    if rule.max_length is not None and len(value) > rule.max_length:
        return f"is {len(value)} characters long, more than {rule.max_length}"
    if rule.subpath_of is not None and not within(rule.subpath_of, value):
        return f"must be a path under {rule.subpath_of!r}"
    if rule.glob is not None and not fnmatchcase(value, rule.glob):
        return f"must match {rule.glob!r}"
    if rule.regex is not None and not _compiled(rule.regex).fullmatch(value):
        return f"must match the pattern {rule.regex!r}"
    for pattern in rule.deny_patterns:
        if _compiled(pattern).search(value):
            return f"matches the denied pattern {pattern!r}"
    return None


def violation(call: ToolCall,
              constraints: Mapping[str, Mapping[str, ArgumentConstraint]]) -> str | None:
    """Why the call breaks a constraint (naming the tool and argument), or None."""
    for tool_pattern, rules in constraints.items():
        if not fnmatchcase(call.name, tool_pattern):
            continue
        for path, rule in rules.items():
            value = lookup(call.arguments, path)
            if value is _MISSING:
                if rule.required:
                    return f"tool {call.name!r}: argument {path!r} is required"
                continue
            problem = _value_problem(value, rule)
            if problem:
                return f"tool {call.name!r}: argument {path!r} {problem}"
    return None
