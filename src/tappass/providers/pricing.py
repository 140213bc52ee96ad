"""USD prices per million tokens (input, output) for common models.

Dated model versions match by prefix (`gpt-4o-2024-08-06` -> `gpt-4o`); the longest
prefix wins. Local providers and the demo model cost nothing. Prices are list prices and
may drift; pipelines can override them (`cost_tracking` option `prices`).
"""

from __future__ import annotations

from functools import lru_cache

PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o1": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-opus": (15.00, 75.00),
    "claude-3-haiku": (0.25, 1.25),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
    "gemini-1.5-pro": (1.25, 5.00),
    "gemini-1.5-flash": (0.075, 0.30),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.5-flash": (0.30, 2.50),
    "tappass/echo": (0.0, 0.0),
}

_FREE_PREFIXES = ("ollama/", "vllm/", "lmstudio/", "tappass/")


def price_for(model: str, table: dict[str, tuple[float, float]] | None = None
              ) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when the model is unknown."""
    if not table:
        return _list_price(model)
    return _lookup(model, table)


@lru_cache(maxsize=1024)
def _list_price(model: str) -> tuple[float, float] | None:
    return _lookup(model, PRICES_PER_MTOK)


def _lookup(model: str, prices: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    if model.startswith(_FREE_PREFIXES):
        return (0.0, 0.0)
    name = model.removeprefix("openai/")
    best = max((key for key in prices if name == key or name.startswith(key + "-")),
               key=len, default=None)
    return prices[best] if best else None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int,
             table: dict[str, tuple[float, float]] | None = None) -> float | None:
    price = price_for(model, table)
    if price is None:
        return None
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000, 8)
