"""What the agent is told when a request fails inside the gateway, and what the admin sees.

An agent gets a code, a plain message, the audit id and whether retrying can help; never an
internal host, URL, file path or exception text. The full detail goes to the gateway log
and to the audit event's `error`, where admins read it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from tappass.errors import ProviderError, StepError, StorageError

log = logging.getLogger("tappass.server")

AUDIT_UNAVAILABLE = "the audit trail could not be written; request denied (retry shortly)"


@dataclass(frozen=True, slots=True)
class Failure:
    status: int
    type: str
    code: str
    message: str                      # safe for the agent
    detail: str                       # for the log and the audit event
    retryable: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)   # more keys of the error body

    def body_fields(self) -> dict[str, Any]:
        return {"retryable": self.retryable, **self.extra}


def failure_of(exc: ProviderError | StepError | StorageError, audit_id: str) -> Failure:
    if isinstance(exc, ProviderError):
        return _provider_failure(exc)
    if isinstance(exc, StepError):
        return Failure(503, "governance_error", "step_failed",
                       f"governance step {exc.step_id!r} failed, so the request was denied; "
                       f"an administrator can see why in audit event {audit_id}",
                       str(exc), extra={"step": exc.step_id})
    return Failure(503, "storage_error", "audit_unavailable", AUDIT_UNAVAILABLE, str(exc),
                   retryable=True)


def _provider_failure(exc: ProviderError) -> Failure:
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if exc.provider:
        extra["provider"] = exc.provider
    if exc.code == "upstream_rate_limited":
        extra["retry_after"] = exc.retry_after
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return Failure(exc.status, "upstream_error", exc.code, str(exc), exc.detail or str(exc),
                   retryable=exc.retryable, headers=headers, extra=extra)


def log_failure(audit_id: str, failure: Failure) -> None:
    """Server log line for admins; the detail may name hosts and paths, never content."""
    level = logging.WARNING if failure.status < 500 or failure.retryable else logging.ERROR
    log.log(level, "request %s failed: %s (%s)", audit_id, failure.code, failure.detail)
