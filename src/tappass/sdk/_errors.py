"""Errors the SDK raises.

    TapPassError
     ├── ConfigurationError          bad URL, missing key, invalid flag; raised before any request
     ├── GatewayConnectionError      the gateway could not be reached (also a ConnectionError)
     │    └── GatewayTimeout         the gateway did not answer in time (also a TimeoutError)
     └── APIError                    the gateway answered with an error: .status .message .body
          ├── BadRequestError        400: the request (or a flag) was rejected by the gateway
          ├── AuthenticationError    401: missing, unknown or rotated `tp_` key
          ├── GovernanceError        a governance decision
          │    └── PolicyBlockError  403 or a block mid-stream: .step .reason .audit_id
          │         │                .classification .blocked_by
          │         └── RateLimitError  429 from the rate_limit step: .retry_after
          ├── UpstreamError          502/504: the model provider failed or timed out
          └── ServerError            any other status (503: audit unavailable or step failed)

`RateLimitError` is a `PolicyBlockError` because a rate limit is a policy decision: it has a
step and a reason, and `except PolicyBlockError` catches every refusal. The SDK retries
connection errors, timeouts and 502/503/504 with backoff, never a governance decision.
Every `APIError` carries `.governance` (what the response headers told, possibly empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tappass.sdk._types import Governance

__all__ = [
    "APIError", "AuthenticationError", "BadRequestError", "ConfigurationError",
    "GatewayConnectionError", "GatewayTimeout", "GovernanceError", "PolicyBlockError",
    "RateLimitError", "ServerError", "TapPassError", "UpstreamError",
]


class TapPassError(Exception):
    """Base class of every error the SDK raises."""


class ConfigurationError(TapPassError):
    """The agent is misconfigured (URL, key or flags); no request was sent."""


class GatewayConnectionError(TapPassError, ConnectionError):
    """The gateway could not be reached, or the connection broke mid-answer."""


class GatewayTimeout(GatewayConnectionError, TimeoutError):
    """The gateway did not answer within the timeout."""


class APIError(TapPassError):
    """The gateway answered with an error status (or an error event in a stream)."""

    def __init__(self, message: str, *, status: int, body: Mapping[str, Any] | None = None,
                 governance: Governance | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body: dict[str, Any] = dict(body or {})
        self.code: str | None = self.body.get("code")
        self.type: str | None = self.body.get("type")
        self.audit_id: str | None = self.body.get("audit_id") or (
            governance.audit_id if governance else None)
        self.governance = governance


class BadRequestError(APIError):
    """The gateway rejected the request as invalid (400)."""


class AuthenticationError(APIError):
    """The `tp_` key is missing, unknown or was rotated (401)."""


class GovernanceError(APIError):
    """The gateway's governance pipeline decided against the request."""


class PolicyBlockError(GovernanceError):
    """A governance step blocked the request: `.step` says which and `.reason` why."""

    def __init__(self, message: str, *, status: int, body: Mapping[str, Any] | None = None,
                 governance: Governance | None = None) -> None:
        super().__init__(message, status=status, body=body, governance=governance)
        self.step: str | None = self.body.get("step") or self.body.get("blocked_by")
        self.blocked_by: str | None = self.body.get("blocked_by") or self.step
        self.reason: str = self.body.get("reason") or message
        self.classification: str | None = self.body.get("classification") or (
            governance.classification if governance else None)

    def __str__(self) -> str:
        audit = f" (audit id {self.audit_id})" if self.audit_id else ""
        return f"blocked by {self.step}: {self.reason}{audit}"


class RateLimitError(PolicyBlockError):
    """The rate_limit step refused the request (429); `.retry_after` is in seconds."""

    retry_after: float | None = None


class UpstreamError(APIError):
    """The model provider behind the gateway failed (502) or timed out (504)."""


class ServerError(APIError):
    """The gateway failed for another reason (for example 503: audit unavailable)."""


def _error_object(body: Any) -> dict[str, Any]:
    """The inner `error` object of `{"error": {...}}`, or the body itself if it is one."""
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            return dict(inner)
        if isinstance(inner, str):
            return {"message": inner}
        return dict(body)
    return {}


def _class_for(status: int, error: Mapping[str, Any]) -> type[APIError]:
    if error.get("type") == "policy_violation":
        return RateLimitError if status == 429 else PolicyBlockError
    if status == 400:
        return BadRequestError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PolicyBlockError
    if status == 429:
        return RateLimitError
    if status in (502, 504) or error.get("type") == "upstream_error":
        return UpstreamError
    return ServerError


def error_from_response(status: int, body: Any, headers: Mapping[str, str] | None = None,
                        governance: Governance | None = None) -> APIError:
    """The typed error for an error answer of the gateway."""
    error = _error_object(body)
    message = str(error.get("message") or error.get("reason") or f"HTTP {status}")
    exc = _class_for(status, error)(message, status=status, body=error, governance=governance)
    if isinstance(exc, RateLimitError) and headers:
        exc.retry_after = _seconds(headers.get("retry-after"))
    return exc


def error_from_event(payload: Mapping[str, Any], governance: Governance | None = None) -> APIError:
    """The typed error for an `{"error": ...}` event in a stream (the HTTP status was 200).

    `.status` is the status the gateway would have answered with before the stream started.
    """
    error = _error_object(payload)
    kind, code = error.get("type"), error.get("code")
    if kind == "policy_violation":
        status = 429 if code == "rate_limited" else 403
    elif kind == "upstream_error":
        status = 504 if code == "upstream_timeout" else 502
    else:
        status = 503
    return error_from_response(status, error, governance=governance)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
