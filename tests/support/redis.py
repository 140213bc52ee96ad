"""Redis for tests: the machine's shared server, every test under its own key prefix.

The server is shared with other test runs: tests never flush it, and delete only the keys
under their own prefix. Under CI=true a missing server fails the tests instead of skipping
them. `private_redis` starts a throw-away server on a free port for tests that stop it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.support.fake_upstream import free_port

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Redis server is missing under CI=true: {message}", pytrace=False)
    pytest.skip(f"Redis server is missing: {message}")


def redis_url() -> str:
    """The shared test server's URL (skips, or fails under CI=true, when it does not answer)."""
    url = os.environ.get("TAPPASS_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _missing(f"cannot connect to {url}: {exc}")
    finally:
        client.close()
    return url


def unique_prefix() -> str:
    return f"tappass-test:{secrets.token_hex(6)}:"


def delete_prefix(url: str, prefix: str) -> None:
    """Delete this test's keys (and only them)."""
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def keys_under(url: str, prefix: str) -> dict[str, str]:
    """String keys under the prefix and their values (for assertions)."""
    client = redis.Redis.from_url(url, socket_timeout=2, decode_responses=True)
    try:
        out = {}
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            if client.type(key) == "string":
                out[key.removeprefix(prefix)] = client.get(key)
        return out
    finally:
        client.close()


@contextmanager
def private_redis(tmp: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own on a free port (no persistence): (url, process)."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server is not installed (needed to stop and restart a server)")
        raise AssertionError("unreachable")
    port = free_port()
    process = start_redis(binary, port, tmp)
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.terminate()
        process.wait(timeout=10)


def start_redis(binary: str, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                return process
            except redis.RedisError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
    finally:
        client.close()
