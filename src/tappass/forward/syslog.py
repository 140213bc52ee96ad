"""RFC 5424 syslog messages with RFC 6587 octet-counting framing, for TCP and TLS.

    <PRI>1 TIMESTAMP HOSTNAME tappass PROCID audit [tappass@32473 eventId="ae_..."] MSG

framed on the wire as `<length in octets> SP <message>`. The facility is 13 (log audit);
the severity 4 (warning) for a block, 5 (notice) for a detection or action, 6 (info)
otherwise. 32473 is the private enterprise number reserved for documentation (RFC 5612).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from tappass.audit.formats.level import level

FACILITY = 13
_SEVERITY = {"block": 4, "action": 5, "detection": 5, "all": 6}
SD_ID = "tappass@32473"


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _field(value: Any, limit: int) -> str:
    text = "".join(c for c in str(value or "") if 33 <= ord(c) <= 126)[:limit]
    return text or "-"


def message(event: Mapping[str, Any], text: str, *, hostname: str | None = None) -> bytes:
    pri = FACILITY * 8 + _SEVERITY[level(event)]
    host = _field(hostname or socket.gethostname(), 255)
    sd = f'[{SD_ID} eventId="{_sd_escape(str(event.get("id")))}"]'
    header = (f"<{pri}>1 {_field(event.get('timestamp'), 64)} {host} tappass "
              f"{_field(os.getpid(), 128)} audit {sd} ")
    return header.encode() + text.encode()


def frame(msg: bytes) -> bytes:
    """RFC 6587 octet counting."""
    return str(len(msg)).encode() + b" " + msg
