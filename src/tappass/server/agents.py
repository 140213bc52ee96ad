"""Admin API for agents: register, list, show, change, rotate key, delete.

`{name}` is the agent's name or its id (`ag_...`). Registering or changing flags answers
with `warnings`: flags stored although no implemented step acts on them yet.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tappass.agents import public_view
from tappass.errors import RequestError
from tappass.pipeline.inert import flag_warnings
from tappass.server.auth import require_admin
from tappass.server.responses import JSON, parse_json_object, request_error
from tappass.services import Services
from tappass.tools.access import validate_tools

_CREATE_FIELDS = {"name", "preset", "flags", "locked_flags", "loosenable_flags"}
_PATCH_FIELDS = {"preset", "enabled", "flags", "locked_flags", "loosenable_flags", "tools"}


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RequestError(f"{unknown[0]}: unknown field; allowed fields: "
                           f"{', '.join(sorted(allowed))}", field=unknown[0])


async def create_agent(request: Request) -> Response:
    try:
        services = require_admin(request)
        body = parse_json_object(await request.body())
        _only(body, _CREATE_FIELDS)
        if "name" not in body:
            raise RequestError("name: required", field="name")
        flags = body.get("flags")
        agent, key = await services.agents.create(
            body["name"], body.get("preset") or services.settings.default_preset,
            {} if flags is None else flags, body.get("locked_flags") or [],
            body.get("loosenable_flags") or [])
    except RequestError as exc:
        return request_error(exc)
    return JSON({**public_view(agent), "api_key": key,
                 "note": "Store this key now: it is shown only once.",
                 "warnings": flag_warnings(agent.flags)}, status_code=201)


async def list_agents(request: Request) -> Response:
    try:
        services = require_admin(request)
    except RequestError as exc:
        return request_error(exc)
    agents = await services.agents.list()
    return JSON({"object": "list", "data": [public_view(a) for a in agents],
                 "count": len(agents)})


async def _admin_and_name(request: Request) -> tuple[Services, str]:
    return require_admin(request), request.path_params["name"]


async def get_agent(request: Request) -> Response:
    try:
        services, name = await _admin_and_name(request)
        return JSON(public_view(await services.agents.get(name)))
    except RequestError as exc:
        return request_error(exc)


async def update_agent(request: Request) -> Response:
    try:
        services, name = await _admin_and_name(request)
        body = parse_json_object(await request.body())
        _only(body, _PATCH_FIELDS)
        if not body:
            raise RequestError("body: send at least one of "
                               f"{', '.join(sorted(_PATCH_FIELDS))}", field="body")
        if "tools" in body:  # a bare list is the allow list (seed 000's "tool allowlist")
            tools = body["tools"]
            body["tools"] = validate_tools({"allow": tools} if isinstance(tools, list) else tools)
        agent = await services.agents.update(name, **body)
    except RequestError as exc:
        return request_error(exc)
    return JSON({**public_view(agent),
                 "warnings": flag_warnings(agent.flags) if "flags" in body else []})


async def rotate_key(request: Request) -> Response:
    try:
        services, name = await _admin_and_name(request)
        agent, key = await services.agents.rotate_key(name)
    except RequestError as exc:
        return request_error(exc)
    return JSON({**public_view(agent), "api_key": key,
                 "note": "The previous key no longer works. This key is shown only once."})


async def delete_agent(request: Request) -> Response:
    try:
        services, name = await _admin_and_name(request)
        agent = await services.agents.delete(name)
    except RequestError as exc:
        return request_error(exc)
    return JSON({"deleted": agent.name, "id": agent.id})
