"""Redis down: answers come from the worker's memory, logged once, and Redis is retried."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tappass.kv import Counter, KVUnavailable, MemoryKV
from tappass.kv.failover import FailoverKV


class Flaky(MemoryKV):
    """A store that refuses every operation while `down` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def take_token(self, key: str, per_minute: int) -> float:
        if self.down:
            raise KVUnavailable("ConnectionError: refused")
        return await super().take_token(key, per_minute)

    async def reserve(self, counters: object) -> object:  # type: ignore[override]
        if self.down:
            raise KVUnavailable("ConnectionError: refused")
        return await super().reserve(counters)  # type: ignore[arg-type]

    async def ping(self) -> None:
        if self.down:
            raise KVUnavailable("ConnectionError: refused")


async def _until(condition: object) -> None:
    for _ in range(500):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_down_then_back_logs_each_transition_once(
        caplog: pytest.LogCaptureFixture) -> None:
    primary, fallback = Flaky(), MemoryKV()
    kv = FailoverKV(primary, fallback, where="redis://127.0.0.1:1/0", retry_seconds=0.01)
    caplog.set_level(logging.WARNING, logger="tappass.kv")
    try:
        assert (await kv.reserve([Counter("spend", 5, 60)])).backend is primary
        primary.down = True
        for _ in range(5):   # every request still answered, from this worker's memory
            result = await kv.reserve([Counter("spend", 1, 60, cap=100)])
            assert (result.status, result.backend) == ("ok", fallback)
        assert not kv.up
        with pytest.raises(KVUnavailable):
            await kv.ping()
        primary.down = False
        await _until(lambda: kv.up)
        assert (await kv.reserve([Counter("spend", 1, 60)])).backend is primary
        assert await primary.get_ints(["spend"]) == [6]     # memory counts stay in memory
        messages = [r.getMessage() for r in caplog.records]
        assert sum("unreachable" in m for m in messages) == 1
        assert sum("answers again" in m for m in messages) == 1
    finally:
        await kv.close()


async def test_an_unreachable_redis_answers_from_memory() -> None:
    from tappass.kv.redis import RedisKV
    from tests.support.fake_upstream import free_port

    port = free_port()   # nothing listens there
    kv = FailoverKV(RedisKV(f"redis://127.0.0.1:{port}/0", "t:"), MemoryKV("t:"),
                    where=f"redis://127.0.0.1:{port}/0", retry_seconds=60)
    try:
        assert await kv.take_token("rl:bot:1", 1) == 0.0
        assert await kv.take_token("rl:bot:1", 1) > 0     # the fallback bucket counts
        assert not kv.up and "Error" in kv.last_error
    finally:
        await kv.close()


def test_the_gateway_imports_the_redis_client_only_for_a_redis_url() -> None:
    import subprocess
    import sys

    code = ("import asyncio, sys\nfrom tappass.app import create_app\nfrom tappass.kv import "
            "open_kv\nfrom tappass.settings import load_settings\n"
            "asyncio.run(open_kv(load_settings(storage='memory')))\n"
            "print('redis' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("ci, outcome", [("true", "Failed"), ("", "Skipped")])
def test_a_missing_test_redis_fails_under_ci_and_skips_otherwise(
        monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str) -> None:
    from tests.support.fake_upstream import free_port
    from tests.support.redis import redis_url

    monkeypatch.setenv("TAPPASS_TEST_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(BaseException) as caught:
        redis_url()
    assert type(caught.value).__name__ == outcome
