"""Health endpoints: `/health`, `/health/live`, `/health/ready`, `/health/detailed` (admin)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tappass._version import __version__
from tappass.errors import RequestError, StorageError
from tappass.kv import KVUnavailable
from tappass.kv.failover import FailoverKV
from tappass.pipeline.step import Phase
from tappass.server.auth import require_admin
from tappass.server.responses import JSON, request_error
from tappass.services import Services

PING_TIMEOUT = 2.0


async def _storage_check(services: Services) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(services.store.ping(), PING_TIMEOUT)
    except (TimeoutError, StorageError) as exc:
        reason = str(exc) or "no answer within 2 s"
        return {"status": "fail", "error": f"database connection failed: {reason}"}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - start) * 1000, 2)}


async def _audit_check(services: Services) -> dict[str, Any]:
    """The audit writer: running, and its writes (or a write probe, while they fail) commit."""
    audit = services.audit
    if not audit.running:
        return {"status": "fail", "error": "the audit writer is not running: requests are "
                "refused with 503; see the gateway log"}
    if await audit.writable(PING_TIMEOUT):
        return {"status": "ok"}
    return {"status": "fail", "error": audit.health.summary()}


async def _kv_check(services: Services) -> dict[str, Any]:
    """Where rate limits, budgets and sessions are kept; `warn` (degraded) while Redis is down."""
    kv = services.kv
    if not isinstance(kv, FailoverKV):
        workers = services.settings.workers
        if workers > 1:
            return {"status": "warn", "detail": f"{workers} workers keep separate rate-limit, "
                    "budget and session state; set TAPPASS_KV_URL (Redis) to share them"}
        return {"status": "ok", "detail": "in-process"}
    start = time.perf_counter()
    try:
        await asyncio.wait_for(kv.ping(), PING_TIMEOUT)
    except (KVUnavailable, TimeoutError) as exc:
        return {"status": "warn", "error": f"Redis at {kv.where} is unreachable "
                f"({exc or 'no answer'}): rate limits, budgets and sessions are counted per "
                f"worker until it answers; retried every {kv.retry_seconds:g} s"}
    return {"status": "ok", "detail": f"Redis at {kv.where} (shared by every worker)",
            "latency_ms": round((time.perf_counter() - start) * 1000, 2)}


async def health(request: Request) -> Response:
    services: Services = request.app.state.services
    storage = await _storage_check(services)
    audit = await _audit_check(services)
    healthy = storage["status"] == "ok" and audit["status"] == "ok"
    body = {"status": "healthy" if healthy else "unhealthy", "version": __version__,
            "storage": services.store.kind}
    if audit["status"] != "ok":
        body["audit"] = audit["error"]
    return JSON(body, status_code=200 if healthy else 503)


async def live(request: Request) -> Response:
    return JSON({"status": "alive"})


async def ready(request: Request) -> Response:
    services: Services = request.app.state.services
    checks = {"storage": await _storage_check(services),
              "audit_writer": await _audit_check(services),
              "kv": await _kv_check(services)}
    failing = any(c["status"] == "fail" for c in checks.values())
    degraded = any(c["status"] == "warn" for c in checks.values())
    status = "not_ready" if failing else "degraded" if degraded else "ready"
    return JSON({"status": status, "checks": checks}, status_code=503 if failing else 200)


def _pipeline_summary(services: Services) -> dict[str, Any]:
    out = {}
    for name in services.catalog.names():
        pipeline = services.catalog.pipeline(name)
        counts = {phase.value: len(pipeline.phases[phase]) for phase in Phase}
        slots = sum(1 for phase in Phase for e in pipeline.phases[phase] if e.step is None)
        out[name] = {**counts, "total": sum(counts.values()),
                     "unavailable": pipeline.unavailable(), "unavailable_slots": slots}
    return out


def _warnings(services: Services, pipelines: dict[str, Any],
              kv: dict[str, Any]) -> list[str]:
    warnings = []
    for name, summary in pipelines.items():
        if summary["unavailable"]:
            warnings.append(f"pipeline {name}: {len(summary['unavailable'])} registered steps "
                            f"are not implemented in this version and report 'unavailable': "
                            f"{', '.join(summary['unavailable'])}")
    if "openai" not in services.providers.configured():
        warnings.append("no OpenAI-compatible provider configured (OPENAI_API_KEY or "
                        "OPENAI_BASE_URL); only the demo model tappass/echo and local "
                        "providers answer")
    if kv["status"] == "warn":
        warnings.append(kv.get("error") or kv["detail"])
    return warnings


async def detailed(request: Request) -> Response:
    try:
        services = require_admin(request)
    except RequestError as exc:
        return request_error(exc)
    storage = await _storage_check(services)
    migrations = await services.store.applied_migrations() if storage["status"] == "ok" else []
    pipelines = _pipeline_summary(services)
    audit_check = await _audit_check(services)
    audit = services.audit
    kv = await _kv_check(services)
    healthy = storage["status"] == "ok" and audit_check["status"] == "ok"
    return JSON({
        "status": "healthy" if healthy else "unhealthy",
        "version": __version__,
        "pid": os.getpid(),  # the worker process that answered (`--workers N`)
        "uptime_s": round(time.time() - services.started_at, 1),
        "storage": {"kind": services.store.kind, **storage, "migrations": migrations},
        "kv": kv,
        "audit": {"written": audit.written, "failed": audit.failed, "batches": audit.batches,
                  "queued": audit.queued, "running": audit.running, **audit.health.as_dict(),
                  "chain": audit.chain.info() if audit.chain else None},
        "providers": await services.providers.available(),
        "pipelines": pipelines,
        "warnings": _warnings(services, pipelines, kv),
    })
