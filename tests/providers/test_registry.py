"""Providers are reported as configured only when configured, or reachable (issue 20)."""

from __future__ import annotations

import socket

import pytest

from tappass.cli import status
from tappass.errors import ProviderError
from tappass.providers import registry
from tappass.providers.base import Provider
from tappass.providers.registry import Providers, reachable
from tappass.providers.resilience import Guarded
from tappass.settings import load_settings
from tests.conftest import ADMIN_HEADERS, gateway_with
from tests.support.fake_upstream import free_port


async def nothing_answers(url: str) -> bool:
    return False


def base_url(provider: Provider) -> str:
    """The address a routed provider sends to (providers come wrapped in their breaker)."""
    assert isinstance(provider, Guarded)
    return str(provider.inner.base_url)  # type: ignore[attr-defined]


def test_nothing_is_configured_by_default() -> None:
    providers = Providers(load_settings())
    assert providers.configured() == {}


def test_a_default_local_provider_is_still_routed_to_its_usual_address() -> None:
    provider, model = Providers(load_settings()).route("ollama/llama3.1")
    assert (provider.name, model) == ("ollama", "llama3.1")
    assert base_url(provider) == "http://127.0.0.1:11434/v1"
    provider, _ = Providers(load_settings()).route("lmstudio/qwen")
    assert base_url(provider) == "http://127.0.0.1:1234/v1"


def test_unconfigured_openai_and_vllm_are_refused_with_the_variable_to_set() -> None:
    providers = Providers(load_settings())
    with pytest.raises(ProviderError, match="set OPENAI_API_KEY"):
        providers.route("gpt-4o")
    with pytest.raises(ProviderError, match="set VLLM_BASE_URL"):
        providers.route("vllm/some-model")


def test_explicit_settings_configure_each_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:11434/v1")  # the default, set
    monkeypatch.setenv("TAPPASS_LMSTUDIO_BASE_URL", "http://10.9.8.7:1234/v1")
    monkeypatch.setenv("VLLM_BASE_URL", "http://vllm.internal/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert Providers(load_settings()).configured() == {
        "openai": "https://api.openai.com/v1", "vllm": "http://vllm.internal/v1",
        "ollama": "http://127.0.0.1:11434/v1", "lmstudio": "http://10.9.8.7:1234/v1"}


def test_an_openai_compatible_base_url_alone_configures_openai() -> None:
    providers = Providers(load_settings(openai_base_url="http://127.0.0.1:9/v1"))
    assert providers.configured() == {"openai": "http://127.0.0.1:9/v1"}
    assert Providers(load_settings(openai_base_url="https://api.openai.com/v1/")
                     ).configured() == {}


async def test_reachable_means_something_accepts_a_connection() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert await reachable(f"http://127.0.0.1:{port}/v1")
    assert not await reachable(f"http://127.0.0.1:{free_port()}/v1")
    assert not await reachable("not a url")


async def test_available_adds_local_providers_that_answer_at_their_usual_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    async def only_lmstudio(url: str) -> bool:
        asked.append(url)
        return url == "http://127.0.0.1:1234/v1"

    monkeypatch.setattr(registry, "reachable", only_lmstudio)
    providers = Providers(load_settings(ollama_base_url="http://127.0.0.1:9/v1"))
    assert await providers.available() == {"ollama": "http://127.0.0.1:9/v1",
                                           "lmstudio": "http://127.0.0.1:1234/v1"}
    assert asked == ["http://127.0.0.1:1234/v1"]  # a configured provider is not probed


async def test_health_and_status_report_only_configured_providers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "reachable", nothing_answers)
    async for gw in gateway_with():
        detail = (await gw.client.get("/health/detailed", headers=ADMIN_HEADERS)).json()
        assert detail["providers"] == {}
        check = status.check_providers(detail["providers"])
        assert check.state == "warn" and check.detail.startswith("configured: none;")
        models = (await gw.client.get("/v1/models", headers=ADMIN_HEADERS)).json()
        assert {m["id"] for m in models["data"]} == {"tappass/echo"}
    async for gw in gateway_with(vllm_base_url="http://127.0.0.1:9/v1"):
        detail = (await gw.client.get("/health/detailed", headers=ADMIN_HEADERS)).json()
        assert detail["providers"] == {"vllm": "http://127.0.0.1:9/v1"}
        assert status.check_providers(detail["providers"]).detail.startswith(
            "configured: vllm;")
