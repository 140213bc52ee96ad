"""Tool governance over HTTP: an agent's tool lists (admin), the decision API for single
tool calls (agent key), and the public key that verifies capability tokens.

`POST /v1/tools/govern` `{name, arguments, capability_token?}` runs the call through the
tool checks of the agent's pipeline (and verifies the token when one is given) and answers
200 with `allowed`, and when refused the `step` and `reason`. Allowed calls get a fresh
capability token. Every decision is audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from tappass import keys
from tappass.audit.events import bare_event
from tappass.errors import ConfigError, RequestError, StorageError
from tappass.pipeline.steps.tool_call import constraints_in
from tappass.pipeline.steps.tool_governance_verification import verify_token
from tappass.policy.flags import FlagLocked
from tappass.server.auth import admin_services, bearer
from tappass.server.openai import resolve_flags
from tappass.server.responses import JSON, blocked_body, error, parse_json_object, request_error
from tappass.sessions import session_id_from
from tappass.tools import scopes
from tappass.tools.access import validate_tools
from tappass.tools.calls import ToolCall, call_from
from tappass.tools.gate import Outcome, ToolRequest, checks, decide

if TYPE_CHECKING:
    from tappass.pipeline.step import Decision
    from tappass.services import Services
    from tappass.storage.base import AgentRecord

VERIFIER = "tool_governance_verification"
_TOOL_STEPS = ("tool_permissions", "tool_filter")


def _lists_warning(services: Services, agent: AgentRecord) -> list[str]:
    try:
        pipeline = services.catalog.for_agent(agent)
    except ConfigError:
        return []
    active = {e.spec.id for entries in pipeline.phases.values() for e in entries
              if e.step is not None}
    if active.intersection(_TOOL_STEPS):
        return []
    return [f"tools: the agent's pipeline ({pipeline.name}) runs neither tool_permissions nor "
            "tool_filter; the lists are stored but have no effect until it does (assign "
            "the standard or regulated preset)"]


async def get_agent_tools(request: Request) -> Response:
    """The agent's tool allow and deny lists and its pinned tool definitions."""
    try:
        services = await admin_services(request)
        agent = await services.agents.get(request.path_params["name"])
    except RequestError as exc:
        return request_error(exc)
    pins = await services.store.tool_pins(agent.id)
    return JSON({"agent": agent.name, "id": agent.id, "tools": _lists(agent),
                 "pins": dict(sorted(pins.items()))})


def _lists(agent: AgentRecord) -> dict[str, list[str]]:
    return {"allow": list(agent.tools.get("allow", [])), "deny": list(agent.tools.get("deny", []))}


async def put_agent_tools(request: Request) -> Response:
    """Set the agent's tool allow and deny lists (names or globs such as delete_*)."""
    try:
        services = await admin_services(request)
        tools = validate_tools(parse_json_object(await request.body()))
        agent = await services.agents.update(request.path_params["name"], tools=tools)
    except RequestError as exc:
        return request_error(exc)
    return JSON({"agent": agent.name, "id": agent.id, "tools": _lists(agent),
                 "warnings": _lists_warning(services, agent)})


async def clear_tool_pins(request: Request) -> Response:
    """Forget the agent's pinned tool definitions (accept changed definitions)."""
    try:
        services = await admin_services(request)
        agent = await services.agents.get(request.path_params["name"])
    except RequestError as exc:
        return request_error(exc)
    cleared = await services.store.clear_tool_pins(agent.id)
    services.tools.agent_pins.pop(agent.id, None)
    return JSON({"agent": agent.name, "id": agent.id, "cleared": cleared})


async def jwks(request: Request) -> Response:
    """The public key that verifies capability tokens (JWKS, Ed25519)."""
    services: Services = request.app.state.services
    return JSON(services.tools.signer().jwks())


def _parse_call(body: dict[str, Any]) -> tuple[ToolCall, str | None]:
    unknown = sorted(set(body) - {"name", "arguments", "capability_token"})
    if unknown:
        raise RequestError(f"{unknown[0]}: unknown field; allowed fields: arguments, "
                           "capability_token, name", field=unknown[0])
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RequestError("name: expected the tool's name, e.g. \"gmail_send\"", field="name")
    arguments = body.get("arguments", {})
    if not isinstance(arguments, dict | str):
        raise RequestError("arguments: expected an object (or its JSON text)", field="arguments")
    token = body.get("capability_token")
    if token is not None and not isinstance(token, str):
        raise RequestError("capability_token: expected the token string", field="capability_token")
    return call_from(name, arguments), token


async def _agent(request: Request, services: Services) -> AgentRecord:
    token = bearer(request)
    agent = await services.agents.authenticate(token) if token else None
    if agent is None:
        raise RequestError("invalid or missing API key: send 'Authorization: Bearer tp_...'",
                           status=401, code="invalid_api_key", field="Authorization")
    if not agent.enabled:
        raise RequestError(f"agent {agent.name!r} is disabled", status=403,
                           code="agent_disabled")
    return agent


def _outcome(services: Services, agent: AgentRecord, request: Request, call: ToolCall,
             token: str | None) -> tuple[Outcome, str]:
    pipeline = services.catalog.for_agent(agent)
    flags = resolve_flags(request, pipeline.definition.defaults, agent,
                          request.headers.get("x-tappass-flags"))
    tool_request = ToolRequest(agent, flags, scopes.parse_scopes(
        request.headers.get(scopes.HEADER)), session_id_from(request.headers.get("x-session-id")))
    mode = flags.get("mode", "enforce")
    if mode == "off":
        return Outcome(call), mode
    if token is not None:
        refused: Decision | None = verify_token(services.tools.signer(), tool_request, call,
                                                token)
        if refused is not None:
            return Outcome(call, VERIFIER, refused, [VERIFIER]), mode
    outcome = decide(checks(pipeline), tool_request, call)
    if token is not None:
        outcome.checked.insert(0, VERIFIER)
    return outcome, mode


async def govern_tool_call(request: Request) -> Response:
    """Decide whether the agent may run one tool call with these arguments."""
    services: Services = request.app.state.services
    await services.sync()
    audit_id = keys.new_id("ae")
    try:
        agent = await _agent(request, services)
        call, token = _parse_call(parse_json_object(await request.body()))
        outcome, mode = _outcome(services, agent, request, call, token)
    except FlagLocked as exc:
        return JSON(blocked_body("flags", str(exc), audit_id, code="flag_locked"),
                    status_code=403, headers={"X-TapPass-Audit-Id": audit_id})
    except RequestError as exc:
        return error(exc.status, str(exc), code=exc.code, param=exc.field,
                     headers={"X-TapPass-Audit-Id": audit_id})
    except ConfigError as exc:
        return error(503, f"the agent's pipeline cannot be loaded: {exc}",
                     type="governance_error", code="pipeline_invalid")
    body = _decision_body(services, agent, outcome, mode, audit_id)
    try:
        await services.audit.record(_event(audit_id, agent, call, outcome, body["allowed"]))
    except StorageError:
        return error(503, "the audit trail cannot be written; the decision was not made",
                     type="storage_error", code="audit_unavailable", retryable=True)
    return JSON(body, headers={"X-TapPass-Audit-Id": audit_id})


def _decision_body(services: Services, agent: AgentRecord, outcome: Outcome, mode: str,
                   audit_id: str) -> dict[str, Any]:
    call = outcome.call
    body: dict[str, Any] = {"allowed": True, "decision": "allowed", "tool": call.name,
                            "mode": mode, "checked": outcome.checked, "audit_id": audit_id}
    if outcome.blocked and outcome.decision is not None:
        verdict = {"step": outcome.step, "reason": outcome.decision.reason}
        if mode == "enforce":
            return {**body, "allowed": False, "decision": "blocked", **verdict}
        body["would_block"] = verdict
    if outcome.rewritten_by:
        body.update(decision="rewritten", arguments=call.arguments,
                    rewritten_by=outcome.rewritten_by)
    signer = services.tools.signer()
    constraints = constraints_in(services.catalog.for_agent(agent), call.name)
    body["capability_token"] = signer.issue(agent.id, call.name, call.arguments, constraints)
    body["expires_in"] = int(signer.ttl)
    return body


def _event(audit_id: str, agent: AgentRecord, call: ToolCall, outcome: Outcome,
           allowed: bool) -> dict[str, Any]:
    decision = outcome.decision
    event = bare_event(audit_id, agent=agent.name, agent_id=agent.id,
                       status="allowed" if allowed else "blocked", http_status=200,
                       reason=decision.reason if decision and not allowed else "",
                       blocked_by=None if allowed else outcome.step)
    event["tool"] = {"name": call.name, "checked": outcome.checked,
                     "rewritten_by": outcome.rewritten_by}
    return event
