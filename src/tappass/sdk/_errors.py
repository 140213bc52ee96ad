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
          │    └── UpstreamRateLimitError  429 from the provider: .provider .retry_after
          └── ServerError            any other status (503: audit unavailable, provider not
                                     configured, step failed)

`RateLimitError` is a `PolicyBlockError` because the gateway's own rate limit is a policy
decision: it has a step and a reason, and `except PolicyBlockError` catches every refusal.
A rate limit of the model provider is not a decision of the gateway: it is an
`UpstreamRateLimitError` naming the provider. The SDK retries connection errors, timeouts,
502, 504 and a 503 the gateway marks `"retryable": true`, with backoff; never a
configuration error or a governance decision. Every `APIError` carries `.governance` (what
the response headers told, possibly empty). No message ever reads `None`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tappass.sdk._types import Governance

__all__ = [
    "APIError", "AuthenticationError", "BadRequestError", "ConfigurationError",
    "GatewayConnectionError", "GatewayTimeout", "GovernanceError", "PolicyBlockError",
    "RateLimitError", "ServerError", "TapPassError", "UpstreamError", "UpstreamRateLimitError",
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
        who = f"blocked by {self.step}" if self.step else "blocked"
        return f"{who}: {self.reason}{_audit(self.audit_id)}"


class RateLimitError(PolicyBlockError):
    """The rate_limit step refused the request (429); `.retry_after` is in seconds."""

    retry_after: float | None = None


class UpstreamError(APIError):
    """The model provider behind the gateway failed (502) or timed out (504)."""


class UpstreamRateLimitError(UpstreamError):
    """The model provider rate-limited the request (429): `.provider` says which, and
    `.retry_after` how many seconds it asked to wait (None when it did not say)."""

    def __init__(self, message: str, *, status: int, body: Mapping[str, Any] | None = None,
                 governance: Governance | None = None) -> None:
        super().__init__(message, status=status, body=body, governance=governance)
        provider = self.body.get("provider")
        self.provider: str | None = str(provider) if provider else None
        self.retry_after: float | None = _seconds(self.body.get("retry_after"))

    def __str__(self) -> str:
        who = f"provider {self.provider}" if self.provider else "the model provider"
        wait = f"; retry after {self.retry_after:g} s" if self.retry_after is not None else ""
        return f"{who} rate-limited the request{wait}: {self.message}{_audit(self.audit_id)}"


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


def _audit(audit_id: str | None) -> str:
    return f" (audit id {audit_id})" if audit_id else ""


def _class_for(status: int, error: Mapping[str, Any]) -> type[APIError]:
    if error.get("type") == "policy_violation":
        return RateLimitError if status == 429 else PolicyBlockError
    if status == 429 and (error.get("type") == "upstream_error"
                          or error.get("code") == "upstream_rate_limited"):
        return UpstreamRateLimitError
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
    if isinstance(exc, RateLimitError | UpstreamRateLimitError) and headers:
        exc.retry_after = _seconds(headers.get("retry-after")) or exc.retry_after
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
        status = {"upstream_timeout": 504, "upstream_rate_limited": 429}.get(str(code), 502)
    else:
        status = 503
    return error_from_response(status, error, governance=governance)


def _seconds(value: Any) -> float | None:
    """Seconds from a `Retry-After` header or a `retry_after` field; None if absent or bad."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None
