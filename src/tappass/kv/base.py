"""The key-value contract: the atomic operations shared state is built from.

Every operation is atomic on its own (one Lua script or one MULTI on Redis, one
uninterrupted block of code in process), so callers never read, modify and write back.
Keys are logical (`spend:day:agent:20000`); a backend puts its prefix in front. Counters
are integers: money is counted in nano-USD (`tappass.kv.units`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol


class KVUnavailable(Exception):  # noqa: N818 - the name says what happened
    """The shared store did not answer (connection refused, timeout)."""


@dataclass(frozen=True, slots=True)
class Counter:
    """One counter of a reservation: add `amount` unless the total would pass `cap`.

    `seed` is the value a missing key starts from; None means the caller must supply one
    (the reservation answers `unseeded` and changes nothing). `ttl` is in seconds."""

    key: str
    amount: int
    ttl: int
    cap: int | None = None
    seed: int | None = 0


@dataclass(frozen=True, slots=True)
class Delta:
    """Add `amount` to a counter; with `create` False a missing counter stays missing."""

    key: str
    amount: int
    ttl: int
    create: bool = True


@dataclass(frozen=True, slots=True)
class Reserved:
    status: Literal["ok", "over", "unseeded"]
    index: int = 0          # the counter that was over its cap or unseeded
    current: int = 0        # its value before this reservation
    backend: KV | None = field(default=None, compare=False)  # where it was taken (to settle)


class KV(Protocol):
    kind: str

    async def take_token(self, key: str, per_minute: int) -> float:
        """Token bucket: 0.0 when a token was taken, else seconds until one is free."""

    async def reserve(self, counters: Sequence[Counter]) -> Reserved:
        """Add every counter's amount, all or none: none when one would pass its cap."""

    async def adjust(self, deltas: Sequence[Delta]) -> None:
        """Add every delta (no cap)."""

    async def get_ints(self, keys: Sequence[str]) -> list[int]:
        """The counters' values (0 when missing)."""

    async def hash_incr_float(self, key: str, field: str, amount: float, ttl: int) -> float:
        ...

    async def hash_get(self, key: str) -> dict[str, str]:
        ...

    async def hash_set_new(self, key: str, field: str, value: str, ttl: int) -> str:
        """Set the field only if absent; the field's value afterwards (first writer wins)."""

    async def set_add(self, key: str, members: Sequence[str], ttl: int) -> list[bool]:
        """Add the members; for each, whether it was new."""

    async def set_members(self, key: str) -> set[str]:
        ...

    async def list_push(self, key: str, values: Sequence[str], max_len: int,
                        ttl: int) -> list[str]:
        """Append, keep the last `max_len` entries, return the list (oldest first)."""

    async def list_get(self, key: str) -> list[str]:
        ...

    async def ping(self) -> None:
        """Raise KVUnavailable when the store does not answer."""

    async def close(self) -> None:
        ...
