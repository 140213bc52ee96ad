"""USD amounts as people read them: `$2.00`, `$0.0002`, never a cent that rounds to zero.

`format_usd` is the one place money becomes text (block reasons, CLI tables, messages).
"""

from __future__ import annotations

MIN_DECIMALS = 2
MAX_DECIMALS = 8   # what `providers.pricing.cost_usd` rounds to


def format_usd(value: float | None, missing: str = "-") -> str:
    """`$1.50`, `$0.0002`, `$0.000615`: two decimals, more when fewer would change the value."""
    if value is None:
        return missing
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if 0 < amount < 10 ** -MAX_DECIMALS / 2:
        return f"{sign}<${10 ** -MAX_DECIMALS:.{MAX_DECIMALS}f}"
    for decimals in range(MIN_DECIMALS, MAX_DECIMALS + 1):
        if abs(round(amount, decimals) - amount) <= amount * 1e-9:
            break
    return f"{sign}${amount:.{decimals}f}"
