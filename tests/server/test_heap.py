"""The served process settles its garbage collector once started; other apps leave it alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tappass.app import create_app
from tappass.server import heap
from tappass.settings import load_settings
from tests.conftest import ADMIN


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def _started(served: bool) -> tuple[int, tuple[int, int, int]]:
    app = create_app(load_settings(storage="memory", admin_api_key=ADMIN), served=served)
    async with app.router.lifespan_context(app):
        return gc.get_freeze_count(), gc.get_threshold()


async def test_the_served_app_freezes_what_start_up_left_and_collects_rarely(
        restored_gc: None) -> None:
    assert gc.get_freeze_count() == 0
    frozen, threshold = await _started(served=True)
    assert frozen > 1000  # modules, pipelines, settings: never scanned again
    assert threshold[0] == heap.YOUNG_THRESHOLD


async def test_an_app_that_is_not_served_leaves_the_collector_alone(
        restored_gc: None) -> None:
    before = gc.get_threshold()
    frozen, threshold = await _started(served=False)
    assert frozen == 0
    assert threshold == before
