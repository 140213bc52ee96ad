"""The compiled-pipeline cache never hands one agent's pipeline to another (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime

from tappass.pipeline.step import Phase
from tests.conftest import Gateway
from tests.storage_helpers import make_agent

SAME_INSTANT = datetime(2026, 1, 1, tzinfo=UTC)
BUDGET_10 = {"categories": {"cost_control": {"budget_usd": 10.0}}}
BUDGET_99 = {"categories": {"cost_control": {"budget_usd": 99.0}}}


def budget_usd(pipeline) -> float:  # type: ignore[no-untyped-def]
    config = next(c for c in pipeline.definition.phases[Phase.BEFORE]
                  if c.id == "budget_enforcement")
    return float(config.options["budget_usd"])


async def test_two_agents_same_preset_same_instant_get_their_own_overrides(
        gateway: Gateway) -> None:
    catalog = gateway.services.catalog
    first = make_agent("first", "standard", overrides=BUDGET_10, updated_at=SAME_INSTANT)
    second = make_agent("second", "standard", overrides=BUDGET_99, updated_at=SAME_INSTANT)
    assert budget_usd(catalog.for_agent(first)) == 10.0
    assert budget_usd(catalog.for_agent(second)) == 99.0
    assert budget_usd(catalog.for_agent(first)) == 10.0  # still its own, from the cache


async def test_an_update_in_the_same_instant_is_a_new_version(gateway: Gateway) -> None:
    catalog = gateway.services.catalog
    before = make_agent("bot", "standard", overrides=BUDGET_10, updated_at=SAME_INSTANT)
    after = make_agent("bot", "standard", overrides=BUDGET_99, updated_at=SAME_INSTANT)
    assert budget_usd(catalog.for_agent(before)) == 10.0
    assert budget_usd(catalog.for_agent(after)) == 99.0
    moved = make_agent("bot", "regulated", overrides=BUDGET_99, updated_at=SAME_INSTANT)
    assert catalog.for_agent(moved).name == "regulated"


async def test_an_unchanged_agent_reuses_its_compiled_pipeline(gateway: Gateway) -> None:
    catalog = gateway.services.catalog
    agent = make_agent("bot", "standard", overrides=BUDGET_10)
    assert catalog.for_agent(agent) is catalog.for_agent(agent)
