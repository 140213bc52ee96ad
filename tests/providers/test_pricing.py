from __future__ import annotations

import pytest

from tappass.providers.pricing import cost_usd, price_for


@pytest.mark.parametrize("model, price", [
    ("gpt-4o", (2.50, 10.00)),
    ("gpt-4o-2024-08-06", (2.50, 10.00)),
    ("gpt-4o-mini", (0.15, 0.60)),
    ("gpt-4o-mini-2024-07-18", (0.15, 0.60)),
    ("openai/gpt-4o", (2.50, 10.00)),
    ("claude-3-5-sonnet-20241022", (3.00, 15.00)),
    ("ollama/llama3.1", (0.0, 0.0)),
    ("tappass/echo", (0.0, 0.0)),
    ("gpt-4oo", None),
    ("my-finetune", None),
])
def test_prices_match_the_longest_known_prefix(model: str, price: tuple | None) -> None:
    assert price_for(model) == price


def test_cost_in_usd() -> None:
    assert cost_usd("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)
    assert cost_usd("unknown-model", 10, 10) is None
    assert cost_usd("custom", 1000, 0, {"custom": (1.0, 2.0)}) == pytest.approx(0.001)
