"""Admin API of the key vault: `/admin/vault` (names and dates, never values).

    GET    /admin/vault              the stored secrets' names and dates
    PUT    /admin/vault/{name}       {"value": "..."}: store or replace a secret
    DELETE /admin/vault/{name}       remove it (the environment's value applies again)
    POST   /admin/vault/rekey        {"new_key": "<base64 of 32 bytes>"}: re-encrypt all

Every change is signalled to all workers, so the next request uses it without a restart.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tappass.errors import RequestError, StorageError
from tappass.server.auth import admin_services
from tappass.server.responses import JSON, error, parse_json_object, request_error
from tappass.services import Services
from tappass.storage.base import SecretRecord
from tappass.vault.cipher import KEY_VARIABLE, VaultError
from tappass.vault.service import Vault


def _row(record: SecretRecord) -> dict[str, Any]:
    return {"name": record.name, "created_at": record.created_at.isoformat(),
            "updated_at": record.updated_at.isoformat()}


async def _vault(request: Request) -> tuple[Services, Vault]:
    services = await admin_services(request)
    if services.vault is None:
        raise VaultError("the vault is not available in this gateway")
    return services, services.vault


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise RequestError(f"{field}: expected a non-empty string", field=field)
    return value


async def _answer(request: Request, action: str) -> Response:
    try:
        services, vault = await _vault(request)
        name = request.path_params.get("name", "")
        if action == "list":
            return JSON({"object": "list", "data": [_row(r) for r in await vault.records()],
                         "enabled": vault.enabled})
        if action == "set":
            value = _string(parse_json_object(await request.body()), "value")
            record = await vault.set(name, value)
            services.changed()
            return JSON(_row(record))
        if action == "delete":
            if not await vault.delete(name):
                raise RequestError(f"no vault secret named {name!r}", field="name",
                                   status=404, code="secret_not_found")
            services.changed()
            return JSON({"name": name, "deleted": True})
        count = await vault.rekey(_string(parse_json_object(await request.body()), "new_key"))
        services.changed()
        return JSON({"reencrypted": count,
                     "next": f"set {KEY_VARIABLE} to the new key before the gateway restarts"})
    except RequestError as exc:
        return request_error(exc)
    except VaultError as exc:
        return error(409, str(exc), code="vault_unavailable")
    except StorageError as exc:
        return error(503, f"the vault could not be read or written: {exc}",
                     type="storage_error", code="storage_unavailable", retryable=True)


async def list_secrets(request: Request) -> Response:
    """Names and dates of the vault's secrets (never their values)."""
    return await _answer(request, "list")


async def set_secret(request: Request) -> Response:
    """Store or replace a secret: {"value": "..."}."""
    return await _answer(request, "set")


async def delete_secret(request: Request) -> Response:
    """Delete a secret (the environment's value applies again)."""
    return await _answer(request, "delete")


async def rekey(request: Request) -> Response:
    """Re-encrypt every secret under a new vault key: {"new_key": "..."}."""
    return await _answer(request, "rekey")
