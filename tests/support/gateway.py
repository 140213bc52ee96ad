"""Start the real gateway as a separate process (`python -m tappass up`) for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from tests.support.fake_upstream import free_port

ADMIN_KEY = "tp_admin_test-key-for-e2e-only"


@dataclass
class Gateway:
    url: str              # http://127.0.0.1:PORT
    admin_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path,
                 timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode}:\n"
                               f"{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"gateway did not become healthy:\n{log_path.read_text(errors='replace')}")


@contextmanager
def running_gateway(tmp: Path, *, env: dict[str, str] | None = None,
                    args: tuple[str, ...] = ("--storage", "memory"),
                    admin_key: str | None = ADMIN_KEY) -> Iterator[Gateway]:
    """Run `python -m tappass up` on a free port with a fresh TAPPASS_HOME under `tmp`."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("TAPPASS_", "OPENAI_"))}
    full_env.update({"TAPPASS_HOME": str(tmp / "home"), "TAPPASS_LOG_LEVEL": "warning",
                     **(env or {})})
    if admin_key:
        full_env["TAPPASS_ADMIN_API_KEY"] = admin_key
    log_path = tmp / f"gateway-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tappass", "up", "--port", str(port), *args],
            env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log_path)
        yield Gateway(url, admin_key or "", process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def threaded_gateway(admin_key: str = ADMIN_KEY) -> Iterator[str]:
    """The gateway app served by uvicorn in a background thread of this process; its URL.

    Unlike `running_gateway`, it sees what the test patched in this process (the step
    registry, say), so the CLI can be run against a gateway in a state no release ships.
    Build it after patching: pipelines are compiled when the app starts.
    """
    from tappass.app import create_app
    from tappass.settings import load_settings

    app = create_app(load_settings(storage="memory", admin_api_key=admin_key))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                           log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("the threaded gateway did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
