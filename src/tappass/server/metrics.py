"""`GET /admin/metrics` (per-step latency over a window, from the audit trail) and
`GET /metrics` (Prometheus exposition)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tappass.audit.stats import parse_window, window_stats
from tappass.clip import clip
from tappass.errors import RequestError
from tappass.prometheus import CONTENT_TYPE
from tappass.server.auth import require_admin
from tappass.server.responses import JSON, error, request_error
from tappass.services import Services

DEFAULT_WINDOW = "1h"


async def admin_metrics(request: Request) -> Response:
    """Per-step p50/p95/p99 and counts by verdict, per agent and per preset, over a window."""
    try:
        services = require_admin(request)
        params = dict(request.query_params)
        unknown = sorted(set(params) - {"window", "agent"})
        if unknown:
            raise RequestError(f"{unknown[0]}: unknown parameter; use window, agent",
                               field=unknown[0])
        text = params.get("window", DEFAULT_WINDOW)
        try:
            window = parse_window(text)
        except ValueError as exc:
            raise RequestError(f"window: {exc}, got {clip(text)}", field="window") from None
    except RequestError as exc:
        return request_error(exc)
    stats = await window_stats(services.store, window, agent=params.get("agent") or None)
    return JSON(stats.as_dict(text))


async def prometheus_metrics(request: Request) -> Response:
    """Counters and histograms in the Prometheus text format (every worker's, added up)."""
    services: Services = request.app.state.services
    if services.settings.metrics_auth == "admin":
        try:
            require_admin(request)
        except RequestError as exc:
            return request_error(exc)
    if services.metrics is None:
        return error(404, "metrics are not collected by this gateway", code="not_found")
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)
