"""LangChain: a `langchain_openai.ChatOpenAI` that talks to the gateway as a governed agent.

    from tappass.sdk.integrations.langchain import chat_model

    llm = chat_model(agent, model="gpt-4o", temperature=0)
    llm.invoke("Hello").content

Needs `pip install langchain-openai`. The agent's key, flags, session and name travel as
the client's `api_key` and `default_headers`; a block raises `openai.PermissionDeniedError`
(use `tappass.sdk.integrations.governed()` to get `PolicyBlockError`).
"""

from __future__ import annotations

from typing import Any

from tappass.sdk._base import BaseAgent
from tappass.sdk._config import FlagsArg
from tappass.sdk.integrations import require

__all__ = ["chat_model"]


def chat_model(agent: BaseAgent, model: str = "gpt-4o", *, flags: FlagsArg = None,
               session_id: str | None = None, **kwargs: Any) -> Any:
    """A `ChatOpenAI` bound to `agent`; `flags`/`session_id` add to the agent's own.

    Other keyword arguments go to `ChatOpenAI` (`temperature`, `streaming`, ...).
    """
    langchain_openai = require("langchain_openai", "langchain-openai", "chat_model()")
    headers = agent.headers(flags=flags, session_id=session_id)
    options: dict[str, Any] = {"max_retries": agent.max_retries,
                               "default_headers": {**headers,
                                                   **kwargs.pop("default_headers", {})}}
    options.update(kwargs)
    return langchain_openai.ChatOpenAI(model=model, base_url=agent.base_url,
                                       api_key=agent.api_key, **options)
