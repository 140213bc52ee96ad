"""The tamper-evident audit over HTTP: the checkpoint public key, and a JSONL export.

`GET /v1/audit/pubkey` is public (a public key is meant to be shared; auditors verify with
it offline): JSON, or the PEM text alone with `?format=pem`.

`GET /v1/audit/export?format=jsonl` (admin) streams every event matching the `/v1/audit`
filters, oldest first in write order (the order `tappass audit verify --file` checks),
one event per line exactly as `/v1/audit` returns it, chain fields included. It pages
through the store, so no table is ever held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from tappass.audit.chain import jsonl_line
from tappass.errors import RequestError
from tappass.server.audit import parse_query
from tappass.server.auth import require_admin
from tappass.server.responses import JSON, error, request_error
from tappass.services import Services
from tappass.storage.base import AuditQuery

EXPORT_PAGE = 500
EXPORT_FORMATS = ("jsonl",)


async def pubkey(request: Request) -> Response:
    """The Ed25519 public key that verifies audit chain checkpoints."""
    services: Services = request.app.state.services
    chain = services.audit.chain
    signer = chain.signer if chain is not None else None
    if signer is None:
        return error(404, "this gateway does not sign its audit trail", code="not_found")
    info = signer.public_info()
    wanted = request.query_params.get("format", "json")
    if wanted == "pem":
        return PlainTextResponse(info["public_key_pem"],
                                 headers={"X-TapPass-Key-Id": info["key_id"]})
    if wanted != "json":
        return request_error(RequestError("format: expected json or pem", field="format"))
    return JSON({"object": "audit.pubkey", **info})


async def export(request: Request) -> Response:
    """Stream the audit events matching the /v1/audit filters as JSON lines, oldest first."""
    try:
        services = require_admin(request)
        params = dict(request.query_params)
        wanted = params.pop("format", "jsonl")
        if wanted not in EXPORT_FORMATS:
            raise RequestError(f"format: expected {' or '.join(EXPORT_FORMATS)}",
                               field="format")
        if "limit" in params:
            raise RequestError("limit: the export streams every matching event; narrow it "
                               "with agent, after, before or blocked", field="limit")
        query = parse_query(params)
    except RequestError as exc:
        return request_error(exc)
    if query.agent and query.agent.startswith("ag_"):
        found = await services.agents.get_by_id(query.agent)
        query.agent = found.name if found else query.agent
    return StreamingResponse(_lines(services, query), media_type="application/x-ndjson")


async def _lines(services: Services, query: AuditQuery) -> AsyncIterator[bytes]:
    position = 0
    while page := await services.store.audit_page(position, EXPORT_PAGE, query):
        yield b"".join(jsonl_line(event) for _, event in page)
        position = page[-1][0]
