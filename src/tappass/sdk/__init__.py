"""The TapPass SDK: a governed, OpenAI-compatible client of a TapPass gateway.

    from tappass import Agent, PolicyBlockError

    agent = Agent("http://127.0.0.1:9620", "tp_...", flags={"mode": "observe"})
    reply = agent.chat("Hello", model="gpt-4o")
    print(reply.content, reply.governance.would_block)

Imports only httpx and the standard library (plus `tappass.policy.flags` for the flag
grammar), never the gateway. The implementation modules are private; this is the surface.
"""

from tappass.sdk._agent import Agent, Stream
from tappass.sdk._async_agent import AsyncAgent, AsyncStream
from tappass.sdk._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    GatewayConnectionError,
    GatewayTimeout,
    GovernanceError,
    PolicyBlockError,
    RateLimitError,
    ServerError,
    TapPassError,
    UpstreamError,
    UpstreamRateLimitError,
)
from tappass.sdk._models import ChatCompletion, ChatCompletionChunk
from tappass.sdk._types import ChatResponse, Governance, StepVerdict, WouldBlock

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
]
