"""Routing by model name and prefix, aliases, the fallback model and the circuit breaker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tappass.errors import ConfigError, ProviderError
from tappass.providers.registry import ProviderNotConfigured, Providers
from tappass.providers.resilience import Breaker, Fallback
from tappass.settings import load_settings
from tests.support.fake_providers import ANTHROPIC_KEY
from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream, running_upstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with running_upstream() as fake:
        yield fake


def registry(**settings: Any) -> Providers:
    base = {"openai_api_key": "sk-x", "anthropic_api_key": "sk-ant-x",
            "gemini_api_key": "g", "azure_openai_endpoint": "https://r.openai.azure.com",
            "aws_access_key_id": "AKID", "aws_secret_access_key": "s"}
    return Providers(load_settings(**{**base, **settings}))


@pytest.mark.parametrize("model,provider,upstream_model", [
    ("claude-3-5-sonnet-20241022", "anthropic", "claude-3-5-sonnet-20241022"),
    ("gemini-2.5-pro", "gemini", "gemini-2.5-pro"),
    ("azure/prod-gpt4o", "azure", "prod-gpt4o"),
    ("bedrock/anthropic.claude-3-haiku-20240307-v1:0", "bedrock",
     "anthropic.claude-3-haiku-20240307-v1:0"),
    ("ollama/llama3.1", "ollama", "llama3.1"),
    ("anthropic/claude-opus-4", "anthropic", "claude-opus-4"),
    ("gpt-4o", "openai", "gpt-4o"),
    ("tappass/echo", "tappass", "tappass/echo"),
])
def test_models_route_by_name_and_prefix(model: str, provider: str,
                                         upstream_model: str) -> None:
    routed, sent = registry().route(model)
    assert (routed.name, sent) == (provider, upstream_model)


def test_aliases_rename_a_model_before_routing() -> None:
    routed, sent = registry(model_aliases="smart=claude-opus-4, cheap=gemini-2.0-flash").route(
        "smart")
    assert (routed.name, sent) == ("anthropic", "claude-opus-4")


def test_a_malformed_alias_setting_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TAPPASS_MODEL_ALIASES: .*name=model"):
        load_settings(model_aliases="smart")


def test_an_unconfigured_provider_says_which_variable_to_set() -> None:
    providers = Providers(load_settings(anthropic_api_key=None, gemini_api_key=None))
    with pytest.raises(ProviderNotConfigured, match="GEMINI_API_KEY"):
        providers.route("gemini-2.0-flash")


def test_the_vault_key_wins_over_the_environment() -> None:
    settings = load_settings(anthropic_api_key="from-env")
    assert Providers(settings).key("ANTHROPIC_API_KEY", settings.anthropic_api_key) == "from-env"
    vault = {"ANTHROPIC_API_KEY": "from-vault"}.get
    assert Providers(settings, vault).key("ANTHROPIC_API_KEY",
                                          settings.anthropic_api_key) == "from-vault"


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_failures_in_a_row_then_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = Breaker(failures=3, reset=30, clock=clock)
    for _ in range(2):
        breaker.failure()
    breaker.success()  # a success resets the count
    for _ in range(3):
        breaker.check("p")
        breaker.failure()
    with pytest.raises(ProviderError) as caught:
        breaker.check("p")
    assert caught.value.code == "provider_unavailable" and caught.value.status == 503
    assert caught.value.retry_after == 30
    clock.now += 31
    breaker.check("p")  # the one trial
    with pytest.raises(ProviderError):
        breaker.check("p")  # others wait for its outcome
    breaker.failure()  # the trial failed: open again for a full period
    clock.now += 10
    with pytest.raises(ProviderError):
        breaker.check("p")
    clock.now += 21
    breaker.check("p")
    breaker.abandon()  # the trial was cancelled: the next request becomes the trial
    breaker.check("p")
    breaker.success()
    breaker.check("p")
    breaker.check("p")


async def test_an_outage_falls_back_and_a_bad_request_does_not(upstream: FakeUpstream) -> None:
    root = upstream.url.removesuffix("/v1")
    providers = Providers(load_settings(
        openai_base_url=upstream.url, openai_api_key=UPSTREAM_KEY, anthropic_base_url=root,
        anthropic_api_key=ANTHROPIC_KEY, fallback_model="gpt-4o-mini"))
    try:
        provider, model = providers.route("anthropic/fail-500")
        assert isinstance(provider, Fallback)
        body = {"model": model, "messages": [{"role": "user", "content": "Hi"}]}
        answer, _ = await provider.complete(body)
        assert answer["choices"][0]["message"]["content"] == "upstream says: Hi"
        assert upstream.requests[-1]["body"]["model"] == "gpt-4o-mini"
        rejected = {**body, "model": "claude-3-5-haiku"}
        wrong_key = Providers(load_settings(
            anthropic_base_url=root, anthropic_api_key="sk-ant-wrong",
            fallback_model="gpt-4o-mini", openai_base_url=upstream.url))
        provider, _ = wrong_key.route("claude-x")
        with pytest.raises(ProviderError) as caught:
            await provider.complete(rejected)
        assert caught.value.code == "upstream_auth_failed"  # not an outage: no fallback
        await wrong_key.close()
    finally:
        await providers.close()


async def test_repeated_outages_open_the_providers_breaker(upstream: FakeUpstream) -> None:
    providers = Providers(load_settings(anthropic_base_url=upstream.url.removesuffix("/v1"),
                                        anthropic_api_key=ANTHROPIC_KEY, breaker_failures=2))
    provider, _ = providers.route("anthropic/fail-500")
    body = {"model": "fail-500", "messages": [{"role": "user", "content": "Hi"}]}
    sent = len(upstream.requests)
    try:
        for _ in range(2):
            with pytest.raises(ProviderError, match="failed with HTTP 529"):
                await provider.complete(body)
        with pytest.raises(ProviderError, match="paused"):
            await provider.complete(body)
        assert len(upstream.requests) == sent + 2  # the third never reached the provider
        assert providers.breakers() == {"anthropic": True}
    finally:
        await providers.close()
