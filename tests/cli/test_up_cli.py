"""`tappass up` refuses clearly, with exit code 1, when it cannot start.

Runs in-process with CliRunner and never starts a server: `_serve` is replaced so that a
regression fails the test instead of hanging it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tappass.cli.main import cli
from tests.cli.conftest import CLEAN_ENV


@pytest.fixture(autouse=True)
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(settings: object) -> None:
        raise AssertionError("tappass up should have refused to start")
    monkeypatch.setattr("tappass.cli.up._serve", refuse)


def up(tmp_path: Path, *args: str, **env: str) -> Result:
    full_env = {**CLEAN_ENV, "TAPPASS_ADMIN_API_KEY": None, "TAPPASS_HOME": str(tmp_path),
                **env}
    return CliRunner().invoke(cli, ["up", *args], env=full_env, catch_exceptions=False)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_port_in_use_is_a_clear_error(tmp_path: Path, busy_port: int) -> None:
    before = os.environ.get("TAPPASS_PORT")
    result = up(tmp_path, "--port", str(busy_port), "--storage", "memory")
    assert result.exit_code == 1
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.output
    assert "--port" in result.output
    assert os.environ.get("TAPPASS_PORT") == before  # up's settings did not leak out


def test_invalid_setting_names_the_variable(tmp_path: Path) -> None:
    result = up(tmp_path, TAPPASS_PORT="notaport")
    assert result.exit_code == 1
    assert "TAPPASS_PORT" in result.output and "notaport" in result.output


def test_memory_storage_with_several_workers_is_refused(tmp_path: Path) -> None:
    result = up(tmp_path, "--storage", "memory", "--workers", "2")
    assert result.exit_code == 1
    assert "--workers 1" in result.output


def test_an_environment_key_replaces_a_saved_one(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tappass.cli import config
    from tests.support.fake_upstream import free_port

    served: list[object] = []
    monkeypatch.setattr("tappass.cli.up._serve", served.append)
    config.save(tmp_path, admin_key="tp_admin_generated-earlier")
    result = up(tmp_path, "--storage", "memory", "--port", str(free_port()),
                TAPPASS_ADMIN_API_KEY="tp_admin_from-the-environment")
    assert result.exit_code == 0, result.output
    assert len(served) == 1
    saved = config.load(tmp_path)
    assert "admin_key" not in saved and saved["gateway_key_from_env"] is True


def test_ignored_tappass_variables_are_named_in_one_start_up_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.fake_upstream import free_port

    monkeypatch.setattr("tappass.cli.up._serve", lambda settings: None)
    env = {"TAPPASS_OPA_URL": "http://127.0.0.1:8181", "TAPPASS_NER_ENABLED": "true", "TAPPASS_SSO_PROVIDER": "okta",
           "TAPPASS_RATE_LIMT_RPM": "5", "TAPPASS_PORT": str(free_port())}
    result = up(tmp_path, "--storage", "memory", **env)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert lines == ["warning: ignored: TAPPASS_NER_ENABLED, TAPPASS_OPA_URL, "
                     "TAPPASS_SSO_PROVIDER are not implemented in "
                     "this version; TAPPASS_RATE_LIMT_RPM is not a TapPass setting (a typo?). "
                     "Settings: docs/configuration.md"]
    quiet = up(tmp_path, "--storage", "memory", "--port", str(free_port()))
    assert "warning:" not in quiet.output
