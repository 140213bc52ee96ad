"""`GET /openapi.json`: an OpenAPI 3.1 description of the gateway's routes.

Built once from the route table: each endpoint's docstring gives its summary, and the
path decides how it is authenticated (agent key, admin key, or none).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tappass._version import __version__
from tappass.server.responses import JSON

_PUBLIC = ("/health", "/openapi.json", "/.well-known/", "/v1/audit/pubkey")
_AGENT = ("/v1/chat/completions", "/v1/messages", "/v1/models", "/v1/tools/govern")
_ERROR = {"description": "error", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}


def _security(path: str) -> list[dict[str, list[str]]]:
    if path.startswith(_PUBLIC) and path != "/health/detailed":
        return []
    return [{"agentKey": []}] if path in _AGENT else [{"adminKey": []}]


def _operation(route: Route, method: str) -> dict[str, Any]:
    doc = (route.endpoint.__doc__ or route.endpoint.__name__.replace("_", " ")).strip()
    operation: dict[str, Any] = {
        "summary": doc.splitlines()[0], "operationId": f"{method}_{route.endpoint.__name__}",
        "security": _security(route.path),
        "responses": {"200": {"description": "OK"}, "400": _ERROR, "401": _ERROR},
    }
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in route.param_convertors]
    if params:
        operation["parameters"] = params
    if method in ("post", "put", "patch"):
        operation["requestBody"] = {"content": {"application/json": {
            "schema": {"type": "object"}}}}
    return operation


def build(routes: list[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        for method in sorted(route.methods or ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            paths.setdefault(route.path, {})[method.lower()] = _operation(route, method.lower())
    return {
        "openapi": "3.1.0",
        "info": {"title": "TapPass gateway", "version": __version__,
                 "description": "OpenAI-compatible governance gateway for AI agents."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "agentKey": {"type": "http", "scheme": "bearer", "description": "tp_... key"},
                "adminKey": {"type": "http", "scheme": "bearer",
                             "description": "tp_admin_... key"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {
                "type": "object", "properties": {
                    "message": {"type": "string"}, "type": {"type": "string"},
                    "code": {"type": "string"}, "param": {"type": ["string", "null"]},
                    "step": {"type": "string"}, "reason": {"type": "string"},
                    "audit_id": {"type": "string"}}}}}}},
    }


async def openapi(request: Request) -> Response:
    """The OpenAPI document of this gateway."""
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = build([r for r in request.app.routes if isinstance(r, Route)])
    return JSON(state.openapi)
