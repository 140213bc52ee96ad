"""Which provider serves which model, built from the settings and the vault.

`tappass/echo` is the built-in demo model. A `provider/model` prefix picks a provider
explicitly (`openai/`, `anthropic/`, `gemini/`, `azure/<deployment>`, `bedrock/<model id>`,
`ollama/`, `vllm/`, `lmstudio/`); otherwise the model name does: `claude-*` goes to
Anthropic, `gemini-*` to Gemini, anything else to the OpenAI-compatible upstream
(`OPENAI_BASE_URL`). `TAPPASS_MODEL_ALIASES` renames models first.

Provider keys are read at the time of each call, from the vault first, then the
environment, so `tappass vault set ANTHROPIC_API_KEY=...` is used by the next request.
Every provider sits behind its own circuit breaker; `TAPPASS_FALLBACK_MODEL` names the
model a request falls back to when its provider has an outage.

A provider is reported as configured only when the settings configure it: a key or a base
URL set. Ollama and LM Studio are still routed to their usual local addresses when not
configured, and `available()` reports them when something accepts a connection there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import SecretStr

from tappass.errors import ProviderError
from tappass.providers.anthropic import DEFAULT_URL as ANTHROPIC_URL
from tappass.providers.anthropic import AnthropicDialect
from tappass.providers.azure import AzureDialect
from tappass.providers.bedrock import AwsCredentials, BedrockDialect
from tappass.providers.echo import MODEL_ID as ECHO_MODEL
from tappass.providers.echo import EchoProvider
from tappass.providers.gemini import DEFAULT_URL as GEMINI_URL
from tappass.providers.gemini import GeminiDialect
from tappass.providers.http import Dialect, HttpProvider, Timeouts
from tappass.providers.openai_compat import KeySource, OpenAICompatibleProvider
from tappass.providers.resilience import Breaker, Fallback, Guarded
from tappass.settings import parse_aliases

if TYPE_CHECKING:
    from tappass.providers.base import Provider
    from tappass.settings import Settings

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
PREFIXES = ("openai", "anthropic", "gemini", "azure", "bedrock", "ollama", "vllm", "lmstudio")
_BY_NAME = (("claude-", "anthropic"), ("gemini-", "gemini"))
_HINTS = {
    "openai": "set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)",
    "anthropic": "set ANTHROPIC_API_KEY (`tappass vault set ANTHROPIC_API_KEY=...`)",
    "gemini": "set GEMINI_API_KEY (`tappass vault set GEMINI_API_KEY=...`)",
    "azure": "set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY",
    "bedrock": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
               "AWS_BEARER_TOKEN_BEDROCK) and AWS_REGION",
    "vllm": "set VLLM_BASE_URL",
}

Secrets = Callable[[str], str | None]


def _no_secrets(name: str) -> str | None:
    return None

_LOCAL_DEFAULTS = {"ollama": "ollama_base_url", "lmstudio": "lmstudio_base_url"}
PROBE_SECONDS = 0.3


async def reachable(url: str, timeout: float = PROBE_SECONDS) -> bool:
    """True when something accepts a TCP connection at the URL's host and port."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port),
                                           timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


class ProviderNotConfigured(ProviderError):
    def __init__(self, message: str, name: str) -> None:
        super().__init__(message, status=503, code="provider_not_configured", provider=name)


class Providers:
    def __init__(self, settings: Settings, secrets: Secrets = _no_secrets) -> None:
        self._settings = settings
        self._secrets = secrets
        self.echo = EchoProvider()
        self._built: dict[str, Provider] = {}
        self.aliases = parse_aliases(settings.model_aliases)

    def key(self, name: str, configured: SecretStr | None) -> str | None:
        """The vault's secret `name`, else the environment's value."""
        stored = self._secrets(name)
        if stored:
            return stored
        return configured.get_secret_value() if configured else None

    def _source(self, name: str, configured: SecretStr | None) -> KeySource:
        return lambda: self.key(name, configured)

    def _aws(self) -> AwsCredentials:
        s = self._settings
        return AwsCredentials(self.key("AWS_ACCESS_KEY_ID", s.aws_access_key_id),
                              self.key("AWS_SECRET_ACCESS_KEY", s.aws_secret_access_key),
                              self.key("AWS_SESSION_TOKEN", s.aws_session_token),
                              self.key("AWS_BEARER_TOKEN_BEDROCK", s.aws_bearer_token_bedrock))

    def _bedrock_url(self) -> str:
        return (self._settings.bedrock_base_url
                or f"https://bedrock-runtime.{self._settings.aws_region}.amazonaws.com")

    def configured(self) -> dict[str, str]:
        """Provider name -> base URL, for the ones the settings configure.

        A local provider's default address is not configuration: Ollama and LM Studio count
        only when their base URL is set (OLLAMA_BASE_URL, LMSTUDIO_BASE_URL).
        """
        s = self._settings
        out = {}
        if (self.key("OPENAI_API_KEY", s.openai_api_key)
                or s.openai_base_url.rstrip("/") != DEFAULT_OPENAI_URL):
            out["openai"] = s.openai_base_url
        if self.key("ANTHROPIC_API_KEY", s.anthropic_api_key) or \
                s.anthropic_base_url.rstrip("/") != ANTHROPIC_URL:
            out["anthropic"] = s.anthropic_base_url
        if self.key("GEMINI_API_KEY", s.gemini_api_key) or \
                s.gemini_base_url.rstrip("/") != GEMINI_URL:
            out["gemini"] = s.gemini_base_url
        if s.azure_openai_endpoint:
            out["azure"] = s.azure_openai_endpoint
        aws = self._aws()
        if (aws.access_key_id and aws.secret_access_key) or aws.bearer_token:
            out["bedrock"] = self._bedrock_url()
        if s.vllm_base_url:
            out["vllm"] = s.vllm_base_url
        for name, field in _LOCAL_DEFAULTS.items():
            if field in s.model_fields_set:
                out[name] = getattr(s, field)
        return out

    def _timeouts(self) -> Timeouts:
        s = self._settings
        return Timeouts(total=s.upstream_timeout, connect=s.upstream_connect_timeout,
                        first_byte=s.upstream_first_byte_timeout,
                        idle=s.upstream_idle_timeout, max_connections=s.upstream_max_connections)

    def _dialect(self, name: str, url: str) -> Dialect:
        s = self._settings
        if name == "anthropic":
            return AnthropicDialect(url, self._source("ANTHROPIC_API_KEY", s.anthropic_api_key))
        if name == "gemini":
            return GeminiDialect(url, self._source("GEMINI_API_KEY", s.gemini_api_key))
        if name == "azure":
            return AzureDialect(url, self._source("AZURE_OPENAI_API_KEY",
                                                  s.azure_openai_api_key),
                                s.azure_openai_api_version)
        return BedrockDialect(url, s.aws_region, self._aws)

    def _defaults(self) -> dict[str, str]:
        """Local providers that are not configured, at their usual addresses."""
        configured = self.configured()
        return {name: getattr(self._settings, field)
                for name, field in _LOCAL_DEFAULTS.items() if name not in configured}

    async def available(self) -> dict[str, str]:
        """`configured()` plus the local providers that answer at their usual addresses."""
        defaults = self._defaults()
        answers = await asyncio.gather(*(reachable(url) for url in defaults.values()))
        found = {name: url for (name, url), ok in zip(defaults.items(), answers, strict=True)
                 if ok}
        return {**self.configured(), **found}

    def _make(self, name: str) -> Provider:
        s = self._settings
        urls = {**self._defaults(), **self.configured()}
        if name not in urls:
            hint = _HINTS.get(name, f"configure provider {name}")
            raise ProviderNotConfigured(f"provider {name!r} is not configured: {hint}, or use "
                                        f"the demo model {ECHO_MODEL!r}", name)
        provider: Provider
        if name in ("openai", "vllm", "ollama", "lmstudio"):
            configured = {"openai": s.openai_api_key, "vllm": s.vllm_api_key}.get(name)
            provider = OpenAICompatibleProvider(
                name, urls[name], self._source(f"{name.upper()}_API_KEY", configured),
                timeouts=self._timeouts())
        else:
            provider = HttpProvider(name, urls[name], self._dialect(name, urls[name]),
                                    self._timeouts())
        return Guarded(provider, Breaker(s.breaker_failures, s.breaker_reset))

    def get(self, name: str) -> Provider:
        if name == "tappass":
            return self.echo
        provider = self._built.get(name)
        if provider is None:
            provider = self._built[name] = self._make(name)
        return provider

    def _direct(self, model: str) -> tuple[Provider, str]:
        if model == ECHO_MODEL:
            return self.echo, model
        prefix, sep, rest = model.partition("/")
        if sep and prefix in PREFIXES and rest:
            return self.get(prefix), rest
        for start, name in _BY_NAME:
            if model.startswith(start):
                return self.get(name), model
        return self.get("openai"), model

    def route(self, model: str) -> tuple[Provider, str]:
        """(provider, model name to send upstream) for a requested model."""
        model = self.aliases.get(model, model)
        provider, upstream = self._direct(model)
        fallback = self._settings.fallback_model
        if not fallback or fallback == model or provider is self.echo:
            return provider, upstream
        try:
            backup, backup_model = self._direct(fallback)
        except ProviderNotConfigured:
            return provider, upstream
        if backup is provider and backup_model == upstream:
            return provider, upstream
        return Fallback(provider, backup, backup_model), upstream

    def breakers(self) -> dict[str, bool]:
        """Provider name -> whether its breaker is open (for health reports)."""
        return {name: p.breaker.is_open for name, p in self._built.items()
                if isinstance(p, Guarded)}

    async def close(self) -> None:
        for provider in self._built.values():
            await provider.close()
        self._built.clear()
