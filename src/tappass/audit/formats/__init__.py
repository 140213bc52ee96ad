"""Audit events rendered for the tools security teams use.

Each format turns one audit event (see `tappass.audit.events`) into one line of text:
`jsonl` (the event itself), `cef` (ArcSight Common Event Format) and `ocsf` (an OCSF 1.8.0
event as one JSON line). Formats are looked up by name in `FORMATS`; `json` is the SIEM
configuration's name for `jsonl`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tappass.audit.formats import cef, jsonl, ocsf

Render = Callable[[Mapping[str, Any]], str]

FORMATS: dict[str, Render] = {"jsonl": jsonl.render, "json": jsonl.render,
                              "cef": cef.render, "ocsf": ocsf.render}

MEDIA_TYPES = {"jsonl": "application/x-ndjson", "json": "application/x-ndjson",
               "cef": "text/plain; charset=utf-8", "ocsf": "application/x-ndjson"}


def renderer(name: str) -> Render:
    """The renderer for a format name; KeyError names the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown format {name!r}; use one of {', '.join(sorted(FORMATS))}") \
            from None
