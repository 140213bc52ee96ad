"""Errors raised inside the gateway.

    TappassError
     ├── ConfigError          bad settings, preset or pipeline file; names the setting or path
     ├── StepError            a step raised: the request fails closed
     ├── ProviderError        the upstream model provider failed (502/504)
     │    └── ProviderTimeout
     ├── StorageError         the database failed (503)
     │    └── AlreadyExists   a unique name was taken (409)
     └── RequestError         the client sent something invalid (400); names the field

Only `tappass.cli` turns these into exit codes; the server turns them into HTTP responses.
"""

from __future__ import annotations


class TappassError(Exception):
    """Base class of every error TapPass raises on purpose."""


class ConfigError(TappassError):
    """A setting, preset or pipeline definition is invalid."""


class StepError(TappassError):
    """A pipeline step raised instead of returning a decision."""

    def __init__(self, step_id: str, message: str) -> None:
        super().__init__(f"step {step_id} failed: {message}")
        self.step_id = step_id


class ProviderError(TappassError):
    """The upstream provider could not be reached or answered with an error.

    The message is what the agent may read: no internal host, URL or exception text.
    `detail` is for the gateway log and the audit event only. `retryable` says whether the
    same request may succeed when sent again; `usage` keeps what could be read of a bad
    answer's token counts.
    """

    def __init__(self, message: str, *, status: int = 502, upstream_status: int | None = None,
                 code: str = "upstream_error", provider: str | None = None,
                 detail: str | None = None, retryable: bool = False,
                 retry_after: float | None = None,
                 usage: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.upstream_status = upstream_status
        self.code = code
        self.provider = provider
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after
        self.usage = usage


class ProviderTimeout(ProviderError):
    """The upstream provider did not answer in time."""

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message, status=504, code="upstream_timeout", provider=provider,
                         retryable=True)


class StorageError(TappassError):
    """The database could not be reached or refused a write."""


class AlreadyExists(StorageError):
    """A record with the same unique name exists."""


class RequestError(TappassError):
    """The client's request is invalid; `field` names the offending part."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400,
                 code: str = "invalid_request") -> None:
        super().__init__(message)
        self.field = field
        self.status = status
        self.code = code
