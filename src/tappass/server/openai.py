"""The OpenAI-compatible surface: `POST /v1/chat/completions` and `GET /v1/models`.

One request: authenticate the `tp_` key, parse the body once, resolve pipeline and flags,
run before -> call -> after, write the audit event (durable before the answer completes),
answer. Streams are audited before their first byte and completed when they end (see
`tappass.server.streaming`). Failures are answered with a code, a plain message, the audit
id and `retryable` (see `tappass.server.failures`), never with internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tappass import keys
from tappass.audit.events import bare_event, event_from_context
from tappass.errors import ConfigError, ProviderError, RequestError, StepError, StorageError
from tappass.pipeline.context import Context
from tappass.pipeline.outcome import finish_request
from tappass.pipeline.runner import Block, run_phase
from tappass.pipeline.step import Phase
from tappass.policy.flags import FlagLocked, FlagPolicy, format_flags, merge_flags, parse_flags
from tappass.server import auth_flood
from tappass.server.auth import bearer, is_admin
from tappass.server.failures import AUDIT_UNAVAILABLE, failure_of, log_failure
from tappass.server.request_headers import read_request_headers
from tappass.server.responses import JSON, blocked_body, error, error_body
from tappass.server.shapes import OPENAI, ApiShape
from tappass.server.streaming import open_stream, stream_body
from tappass.tools import scopes

if TYPE_CHECKING:
    from tappass.services import Services
    from tappass.storage.base import AgentRecord

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _headers(ctx: Context) -> dict[str, str]:
    """Governance outcome for clients (the SDK's `.governance`); never content or findings."""
    headers = {
        "X-TapPass-Audit-Id": ctx.audit_id,
        "X-TapPass-Pipeline": ctx.pipeline.name,
        "X-TapPass-Mode": ctx.mode,
        "X-TapPass-Flags": format_flags(ctx.flags),
        "X-TapPass-Steps": ", ".join(f"{r.step}={r.verdict.value}" for r in ctx.results),
        "X-Session-Id": ctx.session_id,
    }
    would_block = ctx.would_block
    if would_block:
        headers["X-TapPass-Would-Block"] = ", ".join(
            f"{r.step}:{quote(r.reason, safe='')}" for r in would_block)
    if ctx.classification:
        headers["X-TapPass-Classification"] = ctx.classification
    return headers


def _error(api: ApiShape, status: int, message: str, *, code: str,
           type: str = "invalid_request_error", param: str | None = None,
           headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return api.reply(error_body(message, type=type, code=code, param=param, **extra), status,
                     headers)


async def _authenticate(request: Request, services: Services, api: ApiShape) -> AgentRecord:
    token = api.token(request)
    if token is None:
        raise RequestError("missing API key: send 'Authorization: Bearer tp_...'",
                           status=401, code="missing_api_key", field="Authorization")
    agent = await services.agents.authenticate(token)
    if agent is None:
        raise RequestError("invalid API key", status=401, code="invalid_api_key",
                           field="Authorization")
    return agent


def resolve_flags(request: Request, defaults: dict[str, str],
                  agent: AgentRecord, header: str | None) -> dict[str, str]:
    """Pipeline defaults < agent flags < request flags (`header`, X-TapPass-Flags): a request
    may make governance stricter and loosen it only where the agent's admin allows
    (locked_flags, loosenable_flags)."""
    base = {**defaults, **agent.flags}
    if not header:
        return base
    requested = parse_flags(header)
    default_budget = None
    if "budget" in requested and "budget" not in base:
        services: Services = request.app.state.services
        default_budget = services.catalog.for_agent(agent).default_budget()
    policy = FlagPolicy(agent.locked_flags, agent.loosenable_flags, agent.name)
    return merge_flags(base, requested, policy, default_budget=default_budget)


async def chat_completions(request: Request) -> Response:
    return await governed(request, OPENAI)


async def governed(request: Request, api: ApiShape) -> Response:
    """Authenticate, parse in the agent's API, govern, answer in the agent's API."""
    services: Services = request.app.state.services
    await services.sync()
    try:
        agent = await _authenticate(request, services, api)
    except RequestError as exc:
        if (refused := auth_flood.refusal(services.auth_flood, request)) is not None:
            return refused  # one address flooding: counted in one summary event
        # failed authentication is audited too (never any part of the presented key)
        audit_id = keys.new_id("ae")
        await _audit_quietly(services, bare_event(
            audit_id, agent=None, agent_id=None, status="blocked", http_status=exc.status,
            reason=str(exc), blocked_by="authentication"))
        return _error(api, exc.status, str(exc), type="authentication_error", code=exc.code,
                      headers={"X-TapPass-Audit-Id": audit_id})
    audit_id = keys.new_id("ae")
    if not agent.enabled:
        return await _refuse(services, agent, audit_id, "authentication",
                             f"agent {agent.name!r} is disabled", "agent_disabled", api)
    try:
        tappass_headers = read_request_headers(request)
        pipeline = services.catalog.for_agent(agent)
        body = api.parse(await request.body())
        flags = resolve_flags(request, pipeline.definition.defaults, agent,
                              tappass_headers.flags)
    except FlagLocked as exc:
        return await _refuse(services, agent, audit_id, "flags", str(exc), "flag_locked", api)
    except RequestError as exc:
        await _audit_quietly(services, bare_event(
            audit_id, agent=agent.name, agent_id=agent.id, status="failed",
            http_status=exc.status, reason=str(exc)))
        return _error(api, exc.status, str(exc), code=exc.code, param=exc.field,
                      headers={"X-TapPass-Audit-Id": audit_id})
    except ConfigError as exc:  # a stored pipeline that no longer loads: fail closed
        await _audit_quietly(services, bare_event(
            audit_id, agent=agent.name, agent_id=agent.id, status="failed",
            http_status=503, reason=str(exc)))
        return _error(api, 503, f"the agent's pipeline cannot be loaded: {exc}",
                      type="governance_error", code="pipeline_invalid", retryable=False,
                      audit_id=audit_id, headers={"X-TapPass-Audit-Id": audit_id})
    ctx = Context(audit_id=audit_id, services=services, agent=agent, pipeline=pipeline,
                  flags=flags, session_id=tappass_headers.session_id, body=body)
    ctx.state[scopes.STATE_KEY] = scopes.parse_scopes(tappass_headers.scopes)
    response: Response | None = None
    try:
        response = await _govern(ctx, api)
        return response
    finally:
        if not isinstance(response, StreamingResponse):  # a stream settles when it ends
            await finish_request(ctx)


async def _govern(ctx: Context, api: ApiShape) -> Response:
    try:
        block = await run_phase(ctx, Phase.BEFORE) or await run_phase(ctx, Phase.CALL)
        if block is not None:
            return await _blocked(ctx, block, api)
        if ctx.stream:
            stream = await open_stream(ctx)
            return StreamingResponse(stream_body(stream, api.stream()),
                                     media_type="text/event-stream",
                                     headers={**SSE_HEADERS, **_headers(ctx)})
        block = await run_phase(ctx, Phase.AFTER)
        if block is not None:
            return await _blocked(ctx, block, api)
        await ctx.services.audit.record(event_from_context(ctx, status="allowed",
                                                           http_status=200))
        return Response(api.answer(ctx), media_type="application/json", headers=_headers(ctx))
    except (ProviderError, StepError, StorageError) as exc:
        return await _failed(ctx, exc, api)


async def _failed(ctx: Context, exc: ProviderError | StepError | StorageError,
                  api: ApiShape) -> Response:
    failure = failure_of(exc, ctx.audit_id)
    log_failure(ctx.audit_id, failure)
    if isinstance(exc, ProviderError) and exc.usage and ctx.usage is None:
        ctx.usage = dict(exc.usage)  # what could be read of a malformed answer
    if not isinstance(exc, StorageError):
        await _audit_quietly(ctx.services, event_from_context(
            ctx, status="failed", http_status=failure.status, error=failure.detail,
            reason=failure.message))
    return _error(api, failure.status, failure.message, type=failure.type, code=failure.code,
                  headers={**_headers(ctx), **failure.headers}, audit_id=ctx.audit_id,
                  **failure.body_fields())


async def _blocked(ctx: Context, block: Block, api: ApiShape) -> Response:
    decision = block.decision
    await ctx.services.audit.record(event_from_context(
        ctx, status="blocked", http_status=decision.status, blocked_by=block.step,
        reason=decision.reason))
    code = "rate_limited" if decision.status == 429 else "blocked"
    return api.reply(blocked_body(block.step, decision.reason, ctx.audit_id, code=code,
                                  classification=ctx.classification),
                     decision.status, {**_headers(ctx), **decision.headers})


async def _refuse(services: Services, agent: AgentRecord, audit_id: str, step: str,
                  reason: str, code: str, api: ApiShape) -> Response:
    """A 403 decided before the pipeline runs (disabled agent, locked flag), audited."""
    try:
        await services.audit.record(bare_event(
            audit_id, agent=agent.name, agent_id=agent.id, status="blocked", http_status=403,
            reason=reason, blocked_by=step))
    except StorageError:
        return _error(api, 503, AUDIT_UNAVAILABLE, type="storage_error",
                      code="audit_unavailable", retryable=True,
                      headers={"X-TapPass-Audit-Id": audit_id})
    return api.reply(blocked_body(step, reason, audit_id, code=code), 403,
                     {"X-TapPass-Audit-Id": audit_id})


async def _audit_quietly(services: Services, event: dict[str, Any]) -> None:
    """Audit a request that is failing anyway; a storage error must not mask its cause."""
    try:
        await services.audit.record(event)
    except StorageError:
        pass


async def list_models(request: Request) -> Response:
    services: Services = request.app.state.services
    token = bearer(request)
    if token is None or await services.agents.authenticate(token) is None:
        if token is None or not is_admin(services, token):
            return error(401, "invalid or missing API key", type="authentication_error",
                         code="invalid_api_key")
    models = await services.providers.echo.list_models()
    for name in services.providers.configured():
        if name == "openai":
            models.extend(await services.providers.get(name).list_models())
    return JSON({"object": "list", "data": models})
