"""TapPass: governance gateway for AI agents.

`import tappass` is the SDK surface and stays light: it never imports the web server,
a database driver or a detector. The gateway lives in `tappass.app` and `tappass.server`.
The SDK names (`Agent`, `AsyncAgent`, `PolicyBlockError` ...) come from `tappass.sdk`,
imported on first use so that the gateway's own `import tappass.<module>` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass._version import __version__

if TYPE_CHECKING:
    from tappass.sdk import (
        Agent,
        APIError,
        AsyncAgent,
        AsyncStream,
        AuthenticationError,
        BadRequestError,
        ChatCompletion,
        ChatCompletionChunk,
        ChatResponse,
        ConfigurationError,
        GatewayConnectionError,
        GatewayTimeout,
        Governance,
        GovernanceError,
        PolicyBlockError,
        RateLimitError,
        ServerError,
        StepVerdict,
        Stream,
        TapPassError,
        UpstreamError,
        UpstreamRateLimitError,
        WouldBlock,
    )

__all__ = [
    "APIError",
    "Agent",
    "AsyncAgent",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatResponse",
    "ConfigurationError",
    "GatewayConnectionError",
    "GatewayTimeout",
    "Governance",
    "GovernanceError",
    "PolicyBlockError",
    "RateLimitError",
    "ServerError",
    "StepVerdict",
    "Stream",
    "TapPassError",
    "UpstreamError",
    "UpstreamRateLimitError",
    "WouldBlock",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tappass import sdk

        value = getattr(sdk, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tappass' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
