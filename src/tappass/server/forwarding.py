"""Admin API of forwarding: the SIEM destination and alert webhooks.

    PUT    /admin/siem/config                 set the SIEM destination (seed 002's body)
    GET    /admin/siem/config                 read it back (never the token) with its queue
    POST   /admin/siem/dead-letters/retry     requeue dead letters (?sink=siem|webhook:<id>)
    POST   /admin/webhooks                    {"url", "events"}: add an alert webhook; the
                                              answer holds its signing secret, once
    GET    /admin/webhooks                    list them (no secrets)
    DELETE /admin/webhooks/{id}               remove one (and its queued alerts)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from tappass.errors import RequestError
from tappass.forward import siem_config, webhooks
from tappass.forward.service import Forwarding
from tappass.server.auth import admin_services
from tappass.server.responses import JSON, parse_json_object, request_error
from tappass.services import Services

Handler = Callable[[Request, Services, Forwarding], Awaitable[Response]]


def _handler(handle: Handler, name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            services = await admin_services(request)
            if services.forwarding is None:
                raise RequestError("forwarding is not available in this gateway", status=503,
                                   code="unavailable")
            return await handle(request, services, services.forwarding)
        except RequestError as exc:
            return request_error(exc)
    endpoint.__name__ = name   # OpenAPI operation ids and summaries
    endpoint.__doc__ = handle.__doc__
    return endpoint


async def _siem_view(forwarding: Forwarding) -> JSON:
    status = await forwarding.status()
    if forwarding.siem is None:
        return JSON({"enabled": False, "destination": None, "format": None,
                     "severity_filter": None, "source": None, "delivery": status["sinks"]})
    return JSON({**forwarding.siem.public(), "delivery": status["sinks"].get("siem")})


async def _put_siem(request: Request, services: Services, forwarding: Forwarding) -> Response:
    """Set the SIEM destination, format and severity filter."""
    body = parse_json_object(await request.body())
    await siem_config.save(services.store, services.vault, body, forwarding.siem)
    await forwarding.changed()
    services.changed()
    return await _siem_view(forwarding)


async def _get_siem(request: Request, services: Services, forwarding: Forwarding) -> Response:
    """The SIEM configuration (never the token) and its delivery queue."""
    return await _siem_view(forwarding)


async def _retry_dead(request: Request, services: Services,
                      forwarding: Forwarding) -> Response:
    """Send dead letters again (all, or ?sink=siem|webhook:<id>)."""
    sink = request.query_params.get("sink")
    count = await services.store.outbox.requeue(sink)
    await forwarding.changed()
    return JSON({"requeued": count, "sink": sink})


async def _create_hook(request: Request, services: Services,
                       forwarding: Forwarding) -> Response:
    """Add an alert webhook; the answer holds its signing secret, once."""
    hook = await webhooks.create(services.store, services.vault,
                                 parse_json_object(await request.body()))
    await forwarding.changed()
    services.changed()
    return JSON({**hook.public(), "secret": hook.secret}, status_code=201)


async def _list_hooks(request: Request, services: Services,
                      forwarding: Forwarding) -> Response:
    """The alert webhooks (no secrets)."""
    return JSON({"object": "list", "data": [h.public() for h in forwarding.hooks]})


async def _delete_hook(request: Request, services: Services,
                       forwarding: Forwarding) -> Response:
    """Remove an alert webhook and its queued alerts."""
    hook_id = request.path_params["id"]
    if await webhooks.delete(services.store, services.vault, hook_id) is None:
        raise RequestError(f"no alert webhook with id {hook_id!r}", field="id", status=404,
                           code="not_found")
    await forwarding.changed()
    services.changed()
    return JSON({"deleted": hook_id})


put_siem_config = _handler(_put_siem, "siem_config")
get_siem_config = _handler(_get_siem, "siem_config")
retry_dead_letters = _handler(_retry_dead, "retry_dead_letters")
create_webhook = _handler(_create_hook, "create_webhook")
list_webhooks = _handler(_list_hooks, "list_webhooks")
delete_webhook = _handler(_delete_hook, "delete_webhook")
