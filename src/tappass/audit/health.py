"""Whether audit writes are working, as the health endpoints report it.

The audit recorder updates this after every write (and every write probe): a failure
starts (or continues) a failing period, the next success ends it. Only a bounded, one-line
error message is kept; it is shown to admins (`/health/detailed`), never to agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_ERROR_CHARS = 300


@dataclass(slots=True)
class AuditHealth:
    failing_since: datetime | None = None    # start of the current failing period
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None
    failed_attempts: int = 0                 # writes and probes failed in the current period
    failing_periods: int = 0                 # since start, including the current one

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def failed(self, exc: BaseException) -> None:
        now = datetime.now(UTC)
        if self.failing_since is None:
            self.failing_since = now
            self.failed_attempts = 0
            self.failing_periods += 1
        self.failed_attempts += 1
        self.last_error = one_line(str(exc) or type(exc).__name__)
        self.last_error_at = now

    def succeeded(self) -> datetime | None:
        """Record a success; return when the failing period it ends began (None if none)."""
        began, self.failing_since = self.failing_since, None
        self.last_success_at = datetime.now(UTC)
        return began

    def summary(self) -> str:
        """One public sentence about a failing period (no error text: that is admin-only)."""
        return (f"audit writes failing since {_iso(self.failing_since)} "
                f"({self.failed_attempts} failed attempts): requests are refused with 503 "
                "until a write succeeds; the last error is in /health/detailed")

    def as_dict(self) -> dict[str, Any]:
        return {"status": "failing" if self.failing else "ok",
                "failing_since": _iso(self.failing_since),
                "failed_attempts": self.failed_attempts if self.failing else 0,
                "failing_periods": self.failing_periods,
                "last_error": self.last_error, "last_error_at": _iso(self.last_error_at),
                "last_success_at": _iso(self.last_success_at)}


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[: MAX_ERROR_CHARS - 1] + "…"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else None
