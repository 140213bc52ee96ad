"""Which provider serves which model, built from the settings once at start.

`tappass/echo` is the built-in demo model. A `provider/model` prefix picks a local provider
(`ollama/llama3.1`, `vllm/...`, `lmstudio/...`) or OpenAI explicitly (`openai/gpt-4o`);
any other model goes to the OpenAI-compatible upstream (`OPENAI_BASE_URL`).

A provider is reported as configured only when the settings configure it: a key or a base
URL set. Ollama and LM Studio are still routed to their usual local addresses when not
configured, and `available()` reports them when something accepts a connection there.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tappass.errors import ProviderError
from tappass.providers.echo import MODEL_ID as ECHO_MODEL
from tappass.providers.echo import EchoProvider
from tappass.providers.openai_compat import OpenAICompatibleProvider

if TYPE_CHECKING:
    from tappass.providers.base import Provider
    from tappass.settings import Settings

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
_PREFIXED = ("openai", "ollama", "vllm", "lmstudio")
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
    def __init__(self, message: str) -> None:
        super().__init__(message, status=503, code="provider_not_configured")


class Providers:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.echo = EchoProvider()
        self._built: dict[str, Provider] = {}

    def configured(self) -> dict[str, str]:
        """Provider name -> base URL, for the ones the settings configure.

        A local provider's default address is not configuration: Ollama and LM Studio count
        only when their base URL is set (OLLAMA_BASE_URL, LMSTUDIO_BASE_URL).
        """
        s = self._settings
        out = {}
        if s.openai_api_key or s.openai_base_url.rstrip("/") != DEFAULT_OPENAI_URL:
            out["openai"] = s.openai_base_url
        if s.vllm_base_url:
            out["vllm"] = s.vllm_base_url
        for name, field in _LOCAL_DEFAULTS.items():
            if field in s.model_fields_set:
                out[name] = getattr(s, field)
        return out

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
            hint = {"openai": "set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)",
                    "vllm": "set VLLM_BASE_URL"}.get(name, f"configure provider {name}")
            raise ProviderNotConfigured(f"provider {name!r} is not configured: {hint}, or use "
                                        f"the demo model {ECHO_MODEL!r}")
        key = {"openai": s.openai_api_key, "vllm": s.vllm_api_key}.get(name)
        return OpenAICompatibleProvider(
            name, urls[name], key.get_secret_value() if key else None,
            timeout=s.upstream_timeout, connect_timeout=s.upstream_connect_timeout,
            max_connections=s.upstream_max_connections)

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
