"""Fixtures for the CLI tests: one real gateway per test module, and the CLI pointed at it.

`run(*args)` invokes `tappass` in-process with click's CliRunner (stdout is not a terminal,
so the output must be plain text); `admin` is an httpx client on the admin API, used to
check what a command really did; `new_agent()` registers an agent through the API and
returns its name and key; `unique_name(prefix)` makes a fresh agent name; `chat(key)`
makes a chat call with the demo model.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from tappass.cli.main import cli
from tests.support.gateway import ADMIN_KEY, Gateway, running_gateway, threaded_gateway

# Variables that would change the output or leak from one invocation to the next
# (`tappass up` writes TAPPASS_* into os.environ; CliRunner restores the names listed here).
CLEAN_ENV: dict[str, str | None] = {name: None for name in (
    "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS", "TAPPASS_HOST", "TAPPASS_PORT",
    "TAPPASS_STORAGE", "TAPPASS_DATABASE_URL", "TAPPASS_WORKERS", "TAPPASS_DEFAULT_PRESET")}

Run = Callable[..., Result]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("gateway")) as gw:
        yield gw


@pytest.fixture(scope="module")
def admin(gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers=gateway.admin_headers,
                      timeout=10) as client:
        yield client


@pytest.fixture
def cli_env(gateway: Gateway, tmp_path: Path) -> dict[str, str | None]:
    return {**CLEAN_ENV, "TAPPASS_URL": gateway.url, "TAPPASS_ADMIN_API_KEY": gateway.admin_key,
            "TAPPASS_HOME": str(tmp_path / "cli-home")}


@pytest.fixture
def run(cli_env: dict[str, str | None]) -> Run:
    return runner(cli_env)


@pytest.fixture
def missing_gateway(unimplemented_steps: tuple[str, ...]) -> Iterator[str]:
    """The URL of a gateway in this process built while `unimplemented_steps` (the root
    conftest's fixture) have no implementation: what a release with a registered but unbuilt
    step looks like. Its admin key is ADMIN_KEY."""
    with threaded_gateway(ADMIN_KEY) as url:
        yield url


@pytest.fixture
def run_missing(missing_gateway: str, tmp_path: Path) -> Run:
    """`run`, against `missing_gateway`."""
    return runner({**CLEAN_ENV, "TAPPASS_URL": missing_gateway,
                   "TAPPASS_ADMIN_API_KEY": ADMIN_KEY,
                   "TAPPASS_HOME": str(tmp_path / "cli-home")})


def runner(cli_env: dict[str, str | None]) -> Run:
    def invoke(*args: str, input: str | None = None,
               env: dict[str, str | None] | None = None) -> Result:
        result = CliRunner().invoke(cli, list(args), input=input,
                                    env={**cli_env, **(env or {})}, catch_exceptions=False)
        assert "\x1b" not in result.output, "ANSI escape codes in non-terminal output"
        return result
    return invoke


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """`unique_name("bot")` → `bot-1a2b3c`: agents never collide on the module's gateway."""
    return unique


@pytest.fixture
def new_agent(admin: httpx.Client) -> Callable[..., tuple[str, str]]:
    def create(prefix: str = "bot", **body: object) -> tuple[str, str]:
        name = unique(prefix)
        response = admin.post("/v1/agents", json={"name": name, **body})
        assert response.status_code == 201, response.text
        return name, response.json()["api_key"]
    return create


@pytest.fixture
def chat(gateway: Gateway) -> Callable[..., httpx.Response]:
    def call(key: str, content: str = "hello", *, model: str = "tappass/echo",
             flags: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"}
        if flags:
            headers["X-TapPass-Flags"] = flags
        return httpx.post(f"{gateway.url}/v1/chat/completions", headers=headers, timeout=10,
                          json={"model": model,
                                "messages": [{"role": "user", "content": content}]})
    return call
