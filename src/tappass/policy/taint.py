"""Taint labels: which values are sensitive, where they came from, where they must not go.

Pure functions, no I/O. A label is attached to a value's keyed fingerprint (never the value)
as the string `LABEL:<fingerprint>`; a session's labels are a set of such strings. Sources:
the data-detection steps' findings (`LABEL_OF_STEP`), and text from outside the
conversation (tool results, function results: `EXTERNAL_ROLES`), whose values are also
EXTERNAL. A tool named in EXTERNAL text next to an instruction cue ("call", "send",
"ignore previous instructions") is labelled `EXTERNAL` under the fingerprint of
`tool:<name>`: a later call of that tool was asked for by a tool result, not by the user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

LABELS = ("PII", "SECRET", "CONFIDENTIAL", "EXTERNAL")
LABEL_OF_STEP = {"detect_pii": "PII", "detect_secrets": "SECRET",
                 "detect_business_data": "CONFIDENTIAL", "classify_data": "CONFIDENTIAL"}
EXTERNAL_ROLES = frozenset({"tool", "function"})

Fingerprint = Callable[[str], str]

INSTRUCTION = re.compile(
    r"(?i)\b(?:ignore (?:all |any )?(?:previous|prior|above) instructions|you (?:must|should) "
    r"(?:now )?(?:call|use|run|invoke|send|forward|post|email)|(?:please |now |then )?"
    r"(?:call|invoke|use|run|execute|trigger) (?:the )?[\w.-]+ (?:tool|function)|"
    r"(?:send|forward|email|post|upload) (?:this|it|them|the \w+|all \w+) to)\b")


def member(label: str, fingerprint: str) -> str:
    return f"{label}:{fingerprint}"


def tool_member(fingerprint: Fingerprint, name: str) -> str:
    return member("EXTERNAL", fingerprint(f"tool:{name}"))


def text_roles(messages: Sequence[dict[str, Any]]) -> list[str]:
    """The role of each text of `Context.texts()` (same order)."""
    out: list[str] = []
    for message in messages:
        role = str(message.get("role", ""))
        content = message.get("content")
        if isinstance(content, str):
            out.append(role)
        elif isinstance(content, list):
            out.extend(role for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return out


def instructed_tools(text: str, tool_names: Iterable[str]) -> set[str]:
    """The declared tools `text` names, when it also carries an instruction cue."""
    if not INSTRUCTION.search(text):
        return set()
    lowered = text.lower()
    return {name for name in tool_names if name and name.lower() in lowered}


def json_leaves(arguments: str) -> list[str]:
    """Every string value in a tool call's JSON arguments (none if they do not parse)."""
    try:
        data = json.loads(arguments)
    except ValueError:
        return []
    return list(_strings(data))


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def labels_of(value: str, members: frozenset[str], fingerprint: Fingerprint) -> set[str]:
    """The labels the session attached to `value`."""
    digest = fingerprint(value)
    return {label for label in LABELS if member(label, digest) in members}
