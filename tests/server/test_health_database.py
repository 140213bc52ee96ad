"""/health/ready against a real SQLite failure: the file moved away under the gateway."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tappass.app import create_app
from tappass.settings import load_settings
from tests.conftest import ADMIN, ADMIN_HEADERS, Gateway


async def sqlite_gateway(home: Path) -> AsyncIterator[Gateway]:
    app = create_app(load_settings(storage="local", home=home, admin_api_key=ADMIN))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield Gateway(client, app)


async def ready(gw: Gateway) -> tuple[int, dict]:
    response = await gw.client.get("/health/ready")
    return response.status_code, response.json()["checks"]["storage"]


async def test_database_moved_away_makes_ready_503_until_it_is_back(tmp_path: Path) -> None:
    async for gw in sqlite_gateway(tmp_path / "db"):
        path = Path(gw.services.store.path)
        assert (await ready(gw))[0] == 200
        moved = path.parent.with_name("moved-away")
        path.parent.rename(moved)
        try:
            status, storage = await ready(gw)
            assert status == 503 and storage["status"] == "fail"
            assert storage["error"] == (
                f"database connection failed: SQLite database {path} is gone (No such file or "
                f"directory); new writes would be lost: restore the file or restart the gateway")
            assert (await gw.client.get("/health")).status_code == 503
            detail = (await gw.client.get("/health/detailed", headers=ADMIN_HEADERS)).json()
            assert detail["status"] == "unhealthy" and detail["storage"]["migrations"] == []
        finally:
            moved.rename(path.parent)
        assert (await ready(gw))[0] == 200


async def test_database_replaced_by_another_file_makes_ready_503(tmp_path: Path) -> None:
    async for gw in sqlite_gateway(tmp_path / "db"):
        path = Path(gw.services.store.path)
        shutil.copy(path, path.with_suffix(".copy"))
        path.unlink()
        path.with_suffix(".copy").rename(path)
        status, storage = await ready(gw)
        assert status == 503
        assert storage["error"] == (f"database connection failed: SQLite database {path} was "
                                    f"replaced by another file while the gateway runs: restart "
                                    f"the gateway")
