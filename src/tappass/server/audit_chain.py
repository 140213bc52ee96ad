"""The tamper-evident audit over HTTP: the checkpoint public key.

`GET /v1/audit/pubkey` is public (a public key is meant to be shared; auditors verify with
it offline): JSON, or the PEM text alone with `?format=pem`. The export that
`tappass audit verify --file` checks is `GET /v1/audit/export?format=jsonl`
(`tappass.server.audit`): oldest first, one event per line with its chain fields.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tappass.errors import RequestError
from tappass.server.responses import JSON, error, request_error
from tappass.services import Services


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
