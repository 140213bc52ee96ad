"""YAML read with its source positions, so configuration errors can name file and line.

`load_yaml` parses a document and keeps its node tree; `node_line` finds the line where a
dotted path (`overrides.categories.before[0].x`) is written; `message_line` does the same
for an error message that starts with such a path.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from tappass.errors import ConfigError

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def load_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree; ConfigError `source:line:column: ...` on bad syntax."""
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None


def node_line(root: yaml.Node | None, path: str) -> int | None:
    """The 1-based line where `path` (`a.b[0].c`) is written, or None if it is not there."""
    node, line = root, None
    for key, index in _SEGMENT.findall(path):
        if isinstance(node, yaml.MappingNode) and key:
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
            if pair is None:
                return None
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and index and int(index) < len(node.value):
            node = node.value[int(index)]
            line = node.start_mark.line + 1
        else:
            return None
    return line


def message_line(message: str, root: yaml.Node | None) -> int | None:
    """The line of the path an error message starts with (`overrides.x.y: expected ...`).

    A top-level `policy:` is sent to the gateway as `overrides.policy`: looked up bare too."""
    path = message.split(": ", 1)[0]
    if " " in path or path == message:
        return None
    line = node_line(root, path)
    if line is None and path.startswith("overrides.policy"):
        line = node_line(root, path.removeprefix("overrides."))
    return line
