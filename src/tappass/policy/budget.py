"""Budget tiers named by the `budget` flag, in USD.

`per_call` caps the estimated cost of one call; `per_session` caps what an agent spends in
one session (`X-Session-Id`), or in one UTC day when it sends no session id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tappass.policy.flags import validate_flag


@dataclass(frozen=True, slots=True)
class Budget:
    per_call: float | None
    per_session: float | None


TIERS = {
    "dev": Budget(per_call=0.10, per_session=2.00),
    "standard": Budget(per_call=2.00, per_session=50.00),
    "unlimited": Budget(per_call=None, per_session=None),
}


@lru_cache(maxsize=256)
def budget_for(flag: str) -> Budget:
    value = validate_flag("budget", flag)
    if value.startswith("custom:"):
        _, per_call, per_session = value.split(":")
        return Budget(float(per_call), float(per_session))
    return TIERS[value]
