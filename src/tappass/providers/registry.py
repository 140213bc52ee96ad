"""Which provider serves which model, built from the settings once at start.

`tappass/echo` is the built-in demo model. A `provider/model` prefix picks a local provider
(`ollama/llama3.1`, `vllm/...`, `lmstudio/...`) or OpenAI explicitly (`openai/gpt-4o`);
any other model goes to the OpenAI-compatible upstream (`OPENAI_BASE_URL`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tappass.errors import ProviderError
from tappass.providers.echo import MODEL_ID as ECHO_MODEL
from tappass.providers.echo import EchoProvider
from tappass.providers.openai_compat import OpenAICompatibleProvider

if TYPE_CHECKING:
    from tappass.providers.base import Provider
    from tappass.settings import Settings

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
_PREFIXED = ("openai", "ollama", "vllm", "lmstudio")


class ProviderNotConfigured(ProviderError):
    def __init__(self, message: str, name: str) -> None:
        super().__init__(message, status=503, code="provider_not_configured", provider=name)


class Providers:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.echo = EchoProvider()
        self._built: dict[str, Provider] = {}

    def configured(self) -> dict[str, str]:
        """Provider name -> base URL, for the ones usable with the current settings."""
        s = self._settings
        out = {}
        if s.openai_api_key or s.openai_base_url.rstrip("/") != DEFAULT_OPENAI_URL:
            out["openai"] = s.openai_base_url
        if s.vllm_base_url:
            out["vllm"] = s.vllm_base_url
        out["ollama"] = s.ollama_base_url
        out["lmstudio"] = s.lmstudio_base_url
        return out

    def _make(self, name: str) -> Provider:
        s = self._settings
        urls = self.configured()
        if name not in urls:
            hint = {"openai": "set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)",
                    "vllm": "set VLLM_BASE_URL"}.get(name, f"configure provider {name}")
            raise ProviderNotConfigured(f"provider {name!r} is not configured: {hint}, or use "
                                        f"the demo model {ECHO_MODEL!r}", name)
        key = {"openai": s.openai_api_key, "vllm": s.vllm_api_key}.get(name)
        return OpenAICompatibleProvider(
            name, urls[name], key.get_secret_value() if key else None,
            timeout=s.upstream_timeout, connect_timeout=s.upstream_connect_timeout,
            first_byte_timeout=s.upstream_first_byte_timeout,
            idle_timeout=s.upstream_idle_timeout, max_connections=s.upstream_max_connections)

    def get(self, name: str) -> Provider:
        if name == "tappass":
            return self.echo
        provider = self._built.get(name)
        if provider is None:
            provider = self._built[name] = self._make(name)
        return provider

    def route(self, model: str) -> tuple[Provider, str]:
        """(provider, model name to send upstream) for a requested model."""
        if model == ECHO_MODEL:
            return self.echo, model
        prefix, sep, rest = model.partition("/")
        if sep and prefix in _PREFIXED and rest:
            return self.get(prefix), rest
        return self.get("openai"), model

    async def close(self) -> None:
        for provider in self._built.values():
            await provider.close()
        self._built.clear()
