"""`create_app(settings)`: the gateway as an ASGI application.

The lifespan opens the store (applying migrations), settles the admin key, compiles the
preset pipelines and starts the audit writer; shutdown flushes the audit queue first.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tappass.admin_key import ensure_admin_key
from tappass.agents import AgentDirectory
from tappass.audit.recorder import AuditRecorder
from tappass.audit.writers import start_chain
from tappass.changes import ChangeSignal
from tappass.clip import clip
from tappass.kv import open_kv
from tappass.log_setup import configure_logging
from tappass.pipeline.catalog import PipelineCatalog
from tappass.prometheus import GatewayMetrics
from tappass.providers.registry import Providers
from tappass.server import (
    agents,
    audit,
    audit_chain,
    health,
    messages,
    metrics,
    openai,
    openapi,
    pipelines,
    tools,
    vault,
)
from tappass.server.auth_flood import AuthFloodGuard
from tappass.server.body_limit import BodyLimit
from tappass.server.responses import error
from tappass.services import Services
from tappass.settings import Settings, load_settings
from tappass.storage.startup import open_store
from tappass.vault.service import Vault

log = logging.getLogger("tappass")


def routes() -> list[Route]:
    return [
        Route("/v1/chat/completions", openai.chat_completions, methods=["POST"]),
        Route("/v1/messages", messages.messages, methods=["POST"]),
        Route("/v1/models", openai.list_models, methods=["GET"]),
        Route("/v1/agents", agents.create_agent, methods=["POST"]),
        Route("/v1/agents", agents.list_agents, methods=["GET"]),
        Route("/v1/agents/{name}", agents.get_agent, methods=["GET"]),
        Route("/v1/agents/{name}", agents.update_agent, methods=["PATCH"]),
        Route("/v1/agents/{name}", agents.delete_agent, methods=["DELETE"]),
        Route("/v1/agents/{name}/rotate-key", agents.rotate_key, methods=["POST"]),
        Route("/v1/agents/{name}/pipeline", pipelines.set_agent_pipeline, methods=["PATCH"]),
        Route("/v1/agents/{name}/tools", tools.get_agent_tools, methods=["GET"]),
        Route("/v1/agents/{name}/tools", tools.put_agent_tools, methods=["PUT"]),
        Route("/v1/agents/{name}/tools/pins", tools.clear_tool_pins, methods=["DELETE"]),
        Route("/v1/tools/govern", tools.govern_tool_call, methods=["POST"]),
        Route("/.well-known/jwks.json", tools.jwks, methods=["GET"]),
        Route("/v1/audit", audit.query_audit, methods=["GET"]),
        Route("/v1/audit/pubkey", audit_chain.pubkey, methods=["GET"]),
        Route("/v1/audit/export", audit_chain.export, methods=["GET"]),
        Route("/admin/pipelines", pipelines.list_pipelines, methods=["GET"]),
        Route("/admin/pipelines", pipelines.create_pipeline, methods=["POST"]),
        Route("/admin/pipelines/{name}", pipelines.get_pipeline, methods=["GET"]),
        Route("/admin/pipelines/{name}", pipelines.put_pipeline, methods=["PUT"]),
        Route("/admin/pipelines/{name}", pipelines.delete_pipeline, methods=["DELETE"]),
        Route("/admin/steps", pipelines.list_steps, methods=["GET"]),
        Route("/admin/metrics", metrics.admin_metrics, methods=["GET"]),
        Route("/metrics", metrics.prometheus_metrics, methods=["GET"]),
        Route("/admin/vault", vault.list_secrets, methods=["GET"]),
        Route("/admin/vault/rekey", vault.rekey, methods=["POST"]),
        Route("/admin/vault/{name}", vault.set_secret, methods=["PUT"]),
        Route("/admin/vault/{name}", vault.delete_secret, methods=["DELETE"]),
        Route("/admin/steps/{id}", pipelines.get_step, methods=["GET"]),
        Route("/health", health.health, methods=["GET"]),
        Route("/health/live", health.live, methods=["GET"]),
        Route("/health/ready", health.ready, methods=["GET"]),
        Route("/health/detailed", health.detailed, methods=["GET"]),
        Route("/openapi.json", openapi.openapi, methods=["GET"]),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = clip(request.url.path, 80)  # the path is client input: quote only a prefix
    message = {404: f"no route for {request.method} {path}",
               405: f"method {request.method} not allowed on {path}"}
    return error(exc.status_code, message.get(exc.status_code, str(exc.detail)),
                 code="not_found" if exc.status_code == 404 else "invalid_request")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error(500, "internal error; see the gateway log", type="server_error",
                 code="internal_error")


async def start_services(settings: Settings) -> Services:
    store = await open_store(settings)
    admin_hash, generated = await ensure_admin_key(store, settings)
    if generated:
        print(f"\nTapPass admin key (shown once, stored only as a hash):\n  {generated}\n",
              file=sys.stderr, flush=True)
    gateway_metrics = GatewayMetrics()
    recorder = AuditRecorder(store, batch_max=settings.audit_batch_max,
                             chain=await start_chain(store, settings),
                             on_written=gateway_metrics.observe)
    key_vault = Vault(store, settings.vault_key.get_secret_value()
                      if settings.vault_key else None)
    await key_vault.load()
    services = Services(settings=settings, store=store,
                        providers=Providers(settings, key_vault.get),
                        kv=await open_kv(settings), audit=recorder, admin_key_hash=admin_hash,
                        changes=ChangeSignal(_signal_path(settings)), vault=key_vault,
                        metrics=gateway_metrics)
    services.catalog = PipelineCatalog(store, services, settings.default_preset)
    services.agents = AgentDirectory(store, services.catalog, services.changed)
    services.auth_flood = AuthFloodGuard(settings.auth_failure_limit,
                                         settings.auth_failure_window, recorder.record)
    await services.catalog.load()
    for name in services.catalog.names():  # compile every known pipeline once, up front
        services.catalog.pipeline(name)
    interrupted = await store.interrupt_open_audit()
    if interrupted:
        log.warning("%d streamed request(s) were cut by an earlier stop; their audit events "
                    "are marked 'interrupted'", interrupted)
    recorder.start()
    services.catalog.start()
    key_vault.start()
    return services


def _signal_path(settings: Settings) -> Path | None:
    """Workers share the signal only when they share the data (not with memory storage)."""
    if settings.storage_kind == "memory":
        return None
    return settings.home / "run" / f"config-{settings.port}.signal"


async def stop_services(services: Services) -> None:
    await services.streams.close()  # streams cut by the shutdown, recorded before the last write
    await services.catalog.close()
    await services.auth_flood.close()
    if services.vault is not None:
        await services.vault.close()
    await services.audit.close()
    await services.providers.close()
    await services.store.close()
    await services.kv.close()


def _watch_shutdown(services: Services) -> Callable[[], None]:
    """Note SIGTERM/SIGINT before the server's own handler drains connections, so streams
    cut after the grace period are recorded as `shutdown`, not as a client going away.
    Returns the function that puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, frame: FrameType | None) -> None:
        services.streams.shutting_down = True
        chained = previous[signal.Signals(signum)]
        if callable(chained):
            chained(signum, frame)
        elif chained == signal.SIG_DFL:  # nobody else handles it: die as the signal says
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    for sig in previous:
        signal.signal(sig, handler)
    return restore


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = services = await start_services(settings)
        restore = _watch_shutdown(services)
        try:
            yield
        finally:
            restore()
            await stop_services(services)

    return Starlette(routes=routes(), lifespan=lifespan,
                     middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes)],
                     exception_handlers={HTTPException: _http_error, 500: _server_error})
