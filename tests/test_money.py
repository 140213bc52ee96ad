"""Money keeps the precision that makes it true: `$0.0002`, never `$0.00` for a real amount."""

from __future__ import annotations

import pytest

from tappass.money import format_usd
from tests.conftest import Gateway


@pytest.mark.parametrize(("value", "text"), [
    (0, "$0.00"), (2, "$2.00"), (1.5, "$1.50"), (0.0002, "$0.0002"), (0.000615, "$0.000615"),
    (0.1 + 0.2, "$0.30"), (123.456, "$123.456"), (-0.5, "-$0.50"), (1e-9, "<$0.00000001"),
    (None, "-"),
])
def test_format_usd(value: float | None, text: str) -> None:
    assert format_usd(value) == text


async def test_a_small_custom_budget_is_shown_as_set(gateway: Gateway) -> None:
    key = await gateway.add_agent("tight", preset="standard", flags={"budget": "custom:1:0.0002"})
    response = await gateway.chat(key, model="gpt-4o-mini")
    assert response.status_code == 403, response.text
    reason = response.json()["error"]["reason"]
    assert "budget of $0.0002 per day" in reason and "(spent $0.00)" in reason
    assert "estimated call cost $0.000" in reason and "$0.0000)" not in reason
