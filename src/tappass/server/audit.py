"""`GET /v1/audit`: query the audit trail (admin). `agent=` takes a name or an `ag_` id.

`GET /v1/audit/export?format=jsonl|cef|ocsf`: the same filters, every matching event
oldest first, streamed one line per event (see `tappass.audit.export`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tappass.audit.export import export_lines
from tappass.audit.formats import MEDIA_TYPES
from tappass.clip import clip
from tappass.errors import RequestError
from tappass.server.auth import require_admin
from tappass.server.responses import JSON, request_error
from tappass.storage.base import AuditQuery

if TYPE_CHECKING:
    from tappass.services import Services

MAX_LIMIT = 1000
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise RequestError(f"{name}: expected an ISO-8601 time such as 2026-03-01T00:00:00Z, "
                           f"got {clip(value)}", field=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_query(params: dict[str, str]) -> AuditQuery:
    unknown = sorted(set(params) - {"agent", "limit", "after", "before", "blocked"})
    if unknown:
        raise RequestError(f"{unknown[0]}: unknown parameter; use agent, limit, after, "
                           "before, blocked", field=unknown[0])
    limit_text = params.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise RequestError(f"limit: expected a whole number from 1 to {MAX_LIMIT}",
                           field="limit")
    blocked = params.get("blocked")
    if blocked is not None and blocked.lower() not in _BOOLS:
        raise RequestError("blocked: expected true or false", field="blocked")
    return AuditQuery(agent=params.get("agent") or None, limit=int(limit_text),
                      after=_time("after", params.get("after")),
                      before=_time("before", params.get("before")),
                      blocked=None if blocked is None else _BOOLS[blocked.lower()])


async def query_audit(request: Request) -> Response:
    try:
        services = require_admin(request)
        query = parse_query(dict(request.query_params))
    except RequestError as exc:
        return request_error(exc)
    await _resolve_agent(services, query)
    limit = query.limit
    query.limit += 1  # one more than asked tells whether older events remain
    events = await services.store.query_audit(query)
    return JSON({"object": "list", "data": events[:limit], "count": min(len(events), limit),
                 "has_more": len(events) > limit})


EXPORT_FORMATS = ("jsonl", "cef", "ocsf")


async def _resolve_agent(services: Services, query: AuditQuery) -> None:
    if query.agent and query.agent.startswith("ag_"):
        found = await services.agents.get_by_id(query.agent)
        query.agent = found.name if found else query.agent


def parse_export(params: dict[str, str]) -> tuple[AuditQuery, str, int | None]:
    """(filters, format, limit or None) of an export request; RequestError names the field."""
    fmt = params.pop("format", "jsonl")
    if fmt not in EXPORT_FORMATS:
        raise RequestError(f"format: expected one of {', '.join(EXPORT_FORMATS)}, "
                           f"got {clip(fmt)}", field="format")
    limit_text = params.pop("limit", None)
    if limit_text is not None and (not limit_text.isdigit() or int(limit_text) < 1):
        raise RequestError("limit: expected a whole number of at least 1", field="limit")
    try:
        query = parse_query(params)
    except RequestError as exc:
        if exc.field == "limit" or "unknown parameter" not in str(exc):
            raise
        raise RequestError(f"{exc.field}: unknown parameter; use format, agent, limit, after, "
                           "before, blocked", field=exc.field) from None
    return query, fmt, None if limit_text is None else int(limit_text)


async def export_audit(request: Request) -> Response:
    try:
        services = require_admin(request)
        query, fmt, limit = parse_export(dict(request.query_params))
    except RequestError as exc:
        return request_error(exc)
    await _resolve_agent(services, query)
    return StreamingResponse(export_lines(services.store, query, fmt, limit=limit),
                             media_type=MEDIA_TYPES[fmt],
                             headers={"Cache-Control": "no-store"})
