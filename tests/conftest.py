"""Shared fixtures: an in-process gateway (ASGI transport) over the memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tappass.app import create_app
from tappass.settings import load_settings
from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream, running_upstream
from tests.support.postgres import postgres_database_fixture
from tests.support.steps import unimplemented

postgres_database = pytest.fixture(scope="session", name="postgres_database")(
    postgres_database_fixture)

ADMIN = "tp_admin_unit-test-key"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Tests never see the developer's TAPPASS_* or provider variables."""
    import os
    for name in list(os.environ):
        if name.startswith(("TAPPASS_", "OPENAI_", "VLLM_", "OLLAMA_", "LMSTUDIO_")) and \
                not name.startswith("TAPPASS_TEST_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TAPPASS_HOME", str(tmp_path / "home"))


@pytest.fixture(autouse=True)
def _fresh_policy_caches() -> None:
    """Each test computes flag comparisons and budgets itself, never reads an earlier test's.

    The caches are process-wide; the mutation run (`make mutants`) forks every mutant's tests
    from a process that already ran the suite once, so a cached result would hide the mutant.
    """
    from tappass.policy.budget import budget_for
    from tappass.policy.flags import compare
    compare.cache_clear()
    budget_for.cache_clear()


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with running_upstream() as fake:
        yield fake


class Gateway:
    """An in-process gateway and helpers to register agents and call it."""

    def __init__(self, client: httpx.AsyncClient, app: Any) -> None:
        self.client = client
        self.app = app

    @property
    def services(self) -> Any:
        return self.app.state.services

    async def add_agent(self, name: str = "bot", preset: str = "starter",
                        flags: dict[str, str] | None = None) -> str:
        response = await self.client.post("/v1/agents", headers=ADMIN_HEADERS, json={
            "name": name, "preset": preset, "flags": flags or {}})
        assert response.status_code == 201, response.text
        return str(response.json()["api_key"])

    async def event(self, audit_id: str) -> dict[str, Any]:
        """The stored audit event with this id (fails the test when there is none)."""
        from tappass.storage.base import AuditQuery
        events = await self.services.store.query_audit(AuditQuery(limit=1000))
        matching = [event for event in events if event["id"] == audit_id]
        assert matching, f"no audit event {audit_id}"
        return matching[0]

    async def chat(self, key: str, content: str = "hello", model: str = "tappass/echo",
                   headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
        return await self.client.post(
            "/v1/chat/completions", headers={"Authorization": f"Bearer {key}", **(headers or {})},
            json={"model": model, "messages": [{"role": "user", "content": content}], **extra})


async def gateway_with(**settings: Any) -> AsyncIterator[Gateway]:
    app = create_app(load_settings(storage="memory", admin_api_key=ADMIN, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield Gateway(client, app)


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    async for gw in gateway_with():
        yield gw


# registered in every preset but starter; a test may name others with indirect parametrize
UNIMPLEMENTED_STEP = "detect_shell_bleed"


@pytest.fixture
def unimplemented_steps(request: pytest.FixtureRequest) -> Iterator[tuple[str, ...]]:
    """Registered steps made to look unimplemented for the test (UNIMPLEMENTED_STEP unless
    parametrized indirectly with a step id or a tuple of them)."""
    param = getattr(request, "param", UNIMPLEMENTED_STEP)
    step_ids = (param,) if isinstance(param, str) else tuple(param)
    with unimplemented(*step_ids):
        yield step_ids


@pytest.fixture
async def gateway_missing_steps(unimplemented_steps: tuple[str, ...]) -> AsyncIterator[Gateway]:
    """An in-process gateway built while `unimplemented_steps` have no implementation."""
    async for gw in gateway_with():
        yield gw


@pytest.fixture
async def proxied(upstream: FakeUpstream) -> AsyncIterator[Gateway]:
    """A gateway whose OpenAI provider is the fake upstream."""
    upstream.requests.clear()
    async for gw in gateway_with(openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY,
                             upstream_timeout=0.5):
        yield gw


@pytest.fixture(autouse=True)
def _per_test_deadline() -> Iterator[None]:
    """With TAPPASS_TEST_TIMEOUT=<seconds> (set by `make mutants`), a test that hangs fails.

    A mutant that makes a request wait forever (say, on an audit write that never completes)
    then costs seconds, not mutmut's whole timeout. Off by default.
    """
    import os
    import signal

    seconds = float(os.environ.get("TAPPASS_TEST_TIMEOUT") or 0)
    if not seconds:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"test still running after {seconds} s (TAPPASS_TEST_TIMEOUT)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
