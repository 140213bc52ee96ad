"""Stopping the gateway with Ctrl-C or SIGTERM is a clean stop: `tappass up` exits 0 and
`make up` prints no `make: *** [up] Interrupt/Terminated` line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fake_upstream import free_port
from tests.support.gateway import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent


def _start(argv: list[str], tmp_path: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAPPASS_", "MAKE"))}
    env.update(TAPPASS_HOME=str(tmp_path / "home"), TAPPASS_LOG_LEVEL="warning")
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    wait_healthy(f"http://127.0.0.1:{port}", process, log)
    return process, log


def test_tappass_up_exits_0_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process, log = _start([str(VENV / "bin" / "tappass"), "up", "--storage", "memory",
                           "--port", str(port)], tmp_path, port)
    os.killpg(process.pid, signal.SIGINT)   # what the terminal does on Ctrl-C
    assert process.wait(timeout=15) == 0, log.read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_up_stops_without_a_make_error(tmp_path: Path) -> None:
    port = free_port()
    argv = ["make", "--no-print-directory", "-o", f"{VENV}/.installed-run", "up",
            f"VENV={VENV}", f"ARGS=--storage memory --port {port}"]
    process, log = _start(argv, tmp_path, port)
    os.killpg(process.pid, signal.SIGTERM)   # printed `make: *** [up] Terminated` before
    process.wait(timeout=15)
    out = log.read_text()
    assert "TapPass gateway on" in out
    assert "***" not in out and "Interrupt" not in out and "Terminated" not in out, out
