"""A circuit breaker per provider, and a fallback model on 5xx and timeouts.

`Breaker`: after `failures` retryable failures in a row (5xx, timeouts, broken connections;
never the agent's own 4xx) the provider is skipped for `reset` seconds, answering 503
`provider_unavailable` at once instead of making every agent wait for the timeout; then one
trial request is let through, and its outcome closes or reopens the breaker.

`Fallback`: when the primary fails that way (or its breaker is open), the same request is
sent once to the fallback model's provider. A stream falls back only before its first byte.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tappass.errors import ProviderError

T = TypeVar("T")

if TYPE_CHECKING:
    from tappass.providers.base import Provider


def is_outage(exc: ProviderError) -> bool:
    return exc.retryable and exc.status >= 500


class Breaker:
    def __init__(self, failures: int, reset: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = failures
        self._reset = reset
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    def check(self, provider: str) -> None:
        """Raise `provider_unavailable` while open; let one trial through after `reset`."""
        if self._opened_at is None:
            return
        wait = self._opened_at + self._reset - self._clock()
        if wait <= 0 and not self._trial:
            self._trial = True
            return
        raise ProviderError(
            f"provider {provider!r} is failing; requests to it are paused for "
            f"{max(1, round(wait))} s", status=503, code="provider_unavailable",
            provider=provider, retryable=True, retry_after=max(wait, 1.0),
            detail=f"circuit breaker open after {self._failures} failures in a row")

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def abandon(self) -> None:
        """A call ended without an outcome (cancelled): a later request may be the trial."""
        self._trial = False

    def failure(self) -> None:
        self._failures += 1
        if self._trial or self._failures >= self._limit:
            self._opened_at = self._clock()
        self._trial = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


class Guarded:
    """A provider behind its breaker."""

    def __init__(self, inner: Provider, breaker: Breaker) -> None:
        self.inner = inner
        self.name = inner.name
        self.breaker = breaker

    def _note(self, exc: ProviderError) -> None:
        if is_outage(exc):
            self.breaker.failure()
        else:
            self.breaker.success()  # it answered: the agent's request was the problem

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        self.breaker.check(self.name)
        return await self._guarded(self.inner.complete(body))

    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        self.breaker.check(self.name)
        return await self._guarded(self.inner.open_stream(body))

    async def _guarded(self, call: Awaitable[T]) -> T:
        """Await `call` (made after the breaker let it through): outages count, anything
        else (a cancel) is abandoned."""
        try:
            result = await call
        except ProviderError as exc:
            self._note(exc)
            raise
        except BaseException:
            self.breaker.abandon()
            raise
        self.breaker.success()
        return result

    async def list_models(self) -> list[dict[str, Any]]:
        return await self.inner.list_models()

    async def close(self) -> None:
        await self.inner.close()


class Fallback:
    """The primary provider, then once the fallback model on an outage of the primary."""

    def __init__(self, primary: Provider, fallback: Provider, fallback_model: str) -> None:
        self.primary = primary
        self.fallback = fallback
        self.fallback_model = fallback_model
        self.name = primary.name

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        try:
            return await self.primary.complete(body)
        except ProviderError as exc:
            if not is_outage(exc):
                raise
        return await self.fallback.complete({**body, "model": self.fallback_model})

    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        try:
            return await self.primary.open_stream(body)
        except ProviderError as exc:
            if not is_outage(exc):
                raise
        return await self.fallback.open_stream({**body, "model": self.fallback_model})

    async def list_models(self) -> list[dict[str, Any]]:
        return await self.primary.list_models()

    async def close(self) -> None:
        return None  # both are owned (and closed) by the registry
