"""The `email` flag applied to email-sending tool calls.

A call sends email when it names recipients (`to`, `cc`, `bcc`, `recipients`) holding
addresses and either its name looks like mail (`gmail_send`, `send_email`, `outlook.reply`)
or its arguments look like a message (`subject`, `body`). The flag: `allow` (or unset)
lets it through, `block` refuses it, `internal:<domain>` refuses recipients outside the
domain (subdomains included), `mirror:<address>` rewrites every recipient to that one
address (for testing).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from tappass.tools.calls import ToolCall

RECIPIENT_FIELDS = ("to", "cc", "bcc", "recipients", "recipient")
NAME_PATTERNS = ("*mail*", "*send*", "*reply*", "*forward*", "*message*", "*draft*")
MESSAGE_FIELDS = ("subject", "body", "text", "html", "message", "content")
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _addresses(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from (m.group(0).lower() for m in _ADDRESS.finditer(value))
    elif isinstance(value, list):
        for item in value:
            yield from _addresses(item)
    elif isinstance(value, dict):
        for key in ("email", "address", "emailAddress"):
            yield from _addresses(value.get(key))


def recipients(call: ToolCall) -> list[str]:
    """Every address in the call's recipient fields (empty for a call that sends no mail)."""
    return [a for key in RECIPIENT_FIELDS for a in _addresses(call.arguments.get(key))]


def is_email_call(call: ToolCall) -> bool:
    if not recipients(call):
        return False
    name = call.name.lower()
    return any(fnmatchcase(name, p) for p in NAME_PATTERNS) or \
        any(key in call.arguments for key in MESSAGE_FIELDS)


def _inside(address: str, domain: str) -> bool:
    host = address.rpartition("@")[2]
    return host == domain or host.endswith("." + domain)


def apply_email_flag(call: ToolCall, flag: str | None) -> str | ToolCall | None:
    """None: allowed as is; a string: why it is refused; a ToolCall: the call rewritten."""
    if not flag or flag == "allow" or not is_email_call(call):
        return None
    if flag == "block":
        return f"email=block: tool {call.name!r} sends email, which this agent may not do"
    if flag.startswith("internal:"):
        domain = flag.removeprefix("internal:").lower()
        outside = [a for a in recipients(call) if not _inside(a, domain)]
        if outside:
            return (f"email={flag}: tool {call.name!r} sends to {len(outside)} "
                    f"recipient(s) outside {domain}")
        return None
    if flag.startswith("mirror:"):
        return mirrored(call, flag.removeprefix("mirror:"))
    return None


def mirrored(call: ToolCall, address: str) -> ToolCall:
    """The call with every recipient field replaced: `to` is the mirror address only."""
    arguments = {k: v for k, v in call.arguments.items() if k not in RECIPIENT_FIELDS}
    to = call.arguments.get("to")
    arguments["to"] = [address] if isinstance(to, list) else address
    return call.with_arguments(arguments)
