"""Bearer-token checks for admin routes and agent routes."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request

from tappass import keys
from tappass.errors import RequestError

if TYPE_CHECKING:
    from tappass.services import Services


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin(request: Request) -> Services:
    """The services if the request carries the admin key; RequestError 401 otherwise."""
    services: Services = request.app.state.services
    token = bearer(request)
    if token is None:
        raise RequestError("missing admin key: send 'Authorization: Bearer tp_admin_...'",
                           status=401, code="missing_api_key", field="Authorization")
    if not is_admin(services, token):
        raise RequestError("invalid admin key", status=401, code="invalid_api_key",
                           field="Authorization")
    return services


def is_admin(services: Services, token: str) -> bool:
    return bool(services.admin_key_hash) and hmac.compare_digest(
        keys.hash_key(token), services.admin_key_hash)


async def admin_services(request: Request) -> Services:
    """`require_admin`, then pick up configuration other workers changed."""
    services = require_admin(request)
    await services.sync()
    return services
