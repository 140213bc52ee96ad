"""Admin API for pipelines and steps, and an agent's pipeline assignment.

    GET  /admin/pipelines                 presets and custom pipelines with step counts
    GET  /admin/pipelines/{name}          steps by phase and category ("default" works)
    POST /admin/pipelines                 {name, base, enable, disable, overrides, description}
    PUT  /admin/pipelines/{name}          create or replace
    DELETE /admin/pipelines/{name}
    GET  /admin/steps, /admin/steps/{id}  what a step does, its phases and options
    PATCH /v1/agents/{name}/pipeline      {preset, overrides} for one agent (name or id)

Saving a pipeline or an agent's overrides answers with `warnings`: steps enabled or
configured that are not implemented in this version, and other settings with no effect yet.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tappass.agents import public_view
from tappass.clip import clip
from tappass.errors import ConfigError, RequestError
from tappass.pipeline.catalog import SPEC_KEYS
from tappass.pipeline.definition import PRESET_NAMES
from tappass.pipeline.inert import enable_warnings, raw_override_warnings
from tappass.pipeline.registry import SPECS, get_spec
from tappass.pipeline.views import counts, pipeline_view, step_summary, step_view
from tappass.server.auth import admin_services
from tappass.server.responses import JSON, parse_json_object, request_error
from tappass.services import Services


def _config_error(exc: ConfigError, field: str = "body") -> RequestError:
    path = str(exc).split(":", 1)[0]
    return RequestError(str(exc), field=path if " " not in path else field,
                        code="invalid_pipeline")


def _view(services: Services, name: str) -> dict[str, Any]:
    catalog = services.catalog
    definition = catalog.definition(name)
    record = catalog.record(name)
    kind = "custom" if record else "preset"
    view = pipeline_view(definition, kind=kind, spec=record.spec if record else None)
    view["default"] = catalog.canonical(name) == catalog.default_preset
    return view


async def list_pipelines(request: Request) -> Response:
    try:
        services = await admin_services(request)
    except RequestError as exc:
        return request_error(exc)
    catalog = services.catalog
    rows = []
    for name in catalog.names():
        definition = catalog.definition(name)
        rows.append({"name": name, "kind": "preset" if name in PRESET_NAMES else "custom",
                     "description": definition.description, "counts": counts(definition),
                     "default": name == catalog.default_preset})
    return JSON({"object": "list", "data": rows, "default": catalog.default_preset})


async def get_pipeline(request: Request) -> Response:
    try:
        services = await admin_services(request)
        name = request.path_params["name"]
        services.catalog.check_name(name, field="name")
        return JSON(_view(services, name))
    except ConfigError as exc:
        return request_error(RequestError(str(exc), field="name", status=404,
                                          code="pipeline_not_found"))
    except RequestError as exc:
        return request_error(exc)


def _spec_from(body: dict[str, Any]) -> dict[str, Any]:
    spec = {key: body[key] for key in SPEC_KEYS if key in body}
    spec.setdefault("base", "standard")
    return spec


async def _save(request: Request, name: Any, body: dict[str, Any], *,
                create_only: bool) -> Response:
    services = await admin_services(request)
    if not isinstance(name, str) or not name:
        raise RequestError("name: required", field="name")
    if create_only and services.catalog.record(name) is not None:
        raise RequestError(f"pipeline {name!r} already exists; use PUT /admin/pipelines/"
                           f"{name} to replace it", field="name", status=409,
                           code="pipeline_exists")
    existed = services.catalog.record(name) is not None
    spec = _spec_from(body)
    try:
        await services.catalog.save(name, spec)
    except ConfigError as exc:
        raise _config_error(exc) from None
    warnings = enable_warnings(spec.get("enable") or []) + \
        raw_override_warnings(spec.get("overrides"))
    return JSON({**_view(services, name), "warnings": warnings},
                status_code=200 if existed else 201)


async def create_pipeline(request: Request) -> Response:
    try:
        body = parse_json_object(await request.body())
        _only(body, {"name", *SPEC_KEYS})
        return await _save(request, body.get("name"), body, create_only=True)
    except RequestError as exc:
        return request_error(exc)


async def put_pipeline(request: Request) -> Response:
    try:
        body = parse_json_object(await request.body())
        _only(body, set(SPEC_KEYS))
        return await _save(request, request.path_params["name"], body, create_only=False)
    except RequestError as exc:
        return request_error(exc)


async def delete_pipeline(request: Request) -> Response:
    try:
        services = await admin_services(request)
        name = request.path_params["name"]
        users = [a.name for a in await services.agents.list() if a.preset == name]
        if users:
            raise RequestError(f"pipeline {name!r} is used by agents: {', '.join(users)}; "
                               "assign them another pipeline first", field="name",
                               status=409, code="pipeline_in_use")
        if not await services.catalog.delete(name):
            raise RequestError(f"custom pipeline {clip(name)} not found", field="name",
                               status=404, code="pipeline_not_found")
    except RequestError as exc:
        return request_error(exc)
    return JSON({"deleted": name})


async def list_steps(request: Request) -> Response:
    try:
        await admin_services(request)
    except RequestError as exc:
        return request_error(exc)
    return JSON({"object": "list", "data": [step_summary(spec) for spec in SPECS]})


async def get_step(request: Request) -> Response:
    try:
        services = await admin_services(request)
        spec = get_spec(request.path_params["id"])
        pipeline = request.query_params.get("pipeline")
        definition = services.catalog.definition(pipeline) if pipeline else None
    except ConfigError as exc:
        return request_error(RequestError(str(exc), field="id", status=404,
                                          code="step_not_found"))
    except RequestError as exc:
        return request_error(exc)
    return JSON(step_view(spec, definition))


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    for key in body:
        if key not in allowed:
            raise RequestError(f"{key}: unknown field; allowed fields: "
                               f"{', '.join(sorted(allowed))}", field=key)


def _agent_overrides(body: dict[str, Any]) -> dict[str, Any] | None:
    """`overrides`, with a top-level `policy` (the onboarding playbook's YAML) folded in."""
    overrides = body.get("overrides")
    if "policy" not in body:
        return overrides
    if overrides is not None and not isinstance(overrides, dict):
        raise RequestError("overrides: expected an object", field="overrides")
    return {**(overrides or {}), "policy": body["policy"]}


async def set_agent_pipeline(request: Request) -> Response:
    try:
        services = await admin_services(request)
        body = parse_json_object(await request.body())
        _only(body, {"preset", "overrides", "policy"})
        changes: dict[str, Any] = {}
        if "preset" in body:
            changes["preset"] = body["preset"]
        overrides = _agent_overrides(body)
        if overrides is not None or "overrides" in body:
            changes["overrides"] = overrides or {}
        if not changes:
            raise RequestError("body: send preset and/or overrides", field="body")
        agent = await services.agents.update(request.path_params["name"], **changes)
    except RequestError as exc:
        return request_error(exc)
    definition = services.catalog.for_agent(agent).definition
    return JSON({**public_view(agent), "pipeline": {"name": definition.name,
                                                    "counts": counts(definition),
                                                    "policy": definition.policy},
                 "warnings": raw_override_warnings(agent.overrides)})
