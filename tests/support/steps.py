"""Step implementations for tests, put in place of an unimplemented step's registry entry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from tappass.pipeline import registry
from tappass.pipeline.step import Action, Decision

WITHHELD = "answer withheld by the test step"


class BlockAnswer:
    """Blocks whatever reaches it (placed in the after phase: a block mid-stream)."""

    def __init__(self, options: Any, services: Any) -> None:
        pass

    async def run(self, ctx: Any) -> Decision:
        return Decision(Action.BLOCK, WITHHELD)


class Broken:
    """A step with a bug: raises."""

    def __init__(self, options: Any, services: Any) -> None:
        pass

    async def run(self, ctx: Any) -> Decision | None:
        raise ZeroDivisionError("division by zero")


class Classify:
    """Classifies every request CONFIDENTIAL (what classify_data will do when it lands)."""

    def __init__(self, options: Any, services: Any) -> None:
        pass

    async def run(self, ctx: Any) -> None:
        ctx.classification = "CONFIDENTIAL"


class BlockPath:
    """Blocks with a reason that holds characters a header must encode."""

    def __init__(self, options: Any, services: Any) -> None:
        pass

    async def run(self, ctx: Any) -> Decision:
        return Decision(Action.BLOCK, "asked for /etc/passwd")


@contextmanager
def implemented(step_id: str, cls: type) -> Iterator[None]:
    """Make registered step `step_id` run `cls` in pipelines compiled inside the block."""
    original = registry.BY_ID[step_id]
    registry.BY_ID[step_id] = replace(original, target=f"{__name__}:{cls.__name__}")
    registry.load_class.cache_clear()
    try:
        yield
    finally:
        registry.BY_ID[step_id] = original
        registry.load_class.cache_clear()
