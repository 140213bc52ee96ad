"""Step implementations for tests, put in place of a step's registry entry, and the reverse:
a registered step made to look unimplemented (every step is implemented in this version, but
the `unavailable` reporting must keep working for the next one registered before it lands)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import tappass.server.pipelines as pipelines_api
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
    """Make registered step `step_id` run `cls` (a module-level class of any test module)
    in pipelines compiled inside the block."""
    original = registry.BY_ID[step_id]
    registry.BY_ID[step_id] = replace(original, target=f"{cls.__module__}:{cls.__name__}")
    registry.load_class.cache_clear()
    try:
        yield
    finally:
        registry.BY_ID[step_id] = original
        registry.load_class.cache_clear()


@contextmanager
def unimplemented(*step_ids: str) -> Iterator[None]:
    """Make registered steps `step_ids` look registered without an implementation (target None).

    BY_ID is shared by every reader; SPECS is a tuple, so each module that imported it by name
    gets the replaced tuple too. Pipelines compiled inside the block report the steps
    `unavailable`; build the gateway inside it.
    """
    originals = {step_id: registry.BY_ID[step_id] for step_id in step_ids}
    specs = tuple(replace(spec, target=None) if spec.id in originals else spec
                  for spec in registry.SPECS)
    saved_specs = (registry.SPECS, pipelines_api.SPECS)
    for step_id, spec in originals.items():
        registry.BY_ID[step_id] = replace(spec, target=None)
    registry.SPECS = pipelines_api.SPECS = specs
    registry.load_class.cache_clear()
    try:
        yield
    finally:
        registry.BY_ID.update(originals)
        registry.SPECS, pipelines_api.SPECS = saved_specs
        registry.load_class.cache_clear()
