"""CrewAI: an `crewai.LLM` that talks to the gateway as a governed agent.

    from crewai import Agent as CrewAgent
    from tappass.sdk.integrations.crewai import llm

    researcher = CrewAgent(role="Researcher", goal="...", backstory="...",
                           llm=llm(agent, model="gpt-4o"))

Needs `pip install crewai`. The LLM uses CrewAI's native OpenAI provider with the
gateway as its base URL, the agent's `tp_` key, and its flags, session and name as headers.
"""

from __future__ import annotations

from typing import Any

from tappass.sdk._base import BaseAgent
from tappass.sdk._config import FlagsArg
from tappass.sdk.integrations import require

__all__ = ["llm"]


def llm(agent: BaseAgent, model: str = "gpt-4o", *, flags: FlagsArg = None,
        session_id: str | None = None, **kwargs: Any) -> Any:
    """A `crewai.LLM` bound to `agent`; `flags`/`session_id` add to the agent's own.

    Any model name the gateway routes works (`gpt-4o`, `tappass/echo`, `ollama/llama3`):
    the provider is pinned to OpenAI-compatible, so CrewAI does not reinterpret the prefix.
    Other keyword arguments go to `crewai.LLM` (`temperature`, `max_tokens`, ...).
    """
    crewai = require("crewai", "crewai", "llm()")
    headers = agent.headers(flags=flags, session_id=session_id)
    options: dict[str, Any] = {"max_retries": agent.max_retries,
                               "default_headers": {**headers,
                                                   **kwargs.pop("default_headers", {})}}
    options.update(kwargs)
    return crewai.LLM(model=model, provider="openai", base_url=agent.base_url,
                      api_key=agent.api_key, **options)
