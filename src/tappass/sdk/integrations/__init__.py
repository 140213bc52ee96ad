"""Govern agents built with other frameworks through their OpenAI-compatible clients.

    from tappass import Agent
    from tappass.sdk.integrations import governed
    from tappass.sdk.integrations.langchain import chat_model

    agent = Agent("http://127.0.0.1:9620", "tp_...", flags={"mode": "enforce"})
    llm = chat_model(agent, model="gpt-4o")        # a langchain_openai.ChatOpenAI
    with governed():                               # openai's errors -> PolicyBlockError ...
        llm.invoke("Hello")

Each helper imports its framework only when called. Frameworks raise the `openai`
package's errors; `governed()` turns those into this SDK's typed errors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tappass.sdk._errors import APIError, error_from_event, error_from_response
from tappass.sdk._types import Governance

__all__ = ["governed", "translate_error"]


def translate_error(exc: BaseException) -> APIError | None:
    """The SDK error for an `openai` package error (or one it caused), else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        translated = _translate_one(current)
        if translated is not None:
            return translated
        current = current.__cause__ or current.__context__
    return None


def _translate_one(exc: BaseException) -> APIError | None:
    if isinstance(exc, APIError):
        return exc
    if type(exc).__module__.split(".")[0] != "openai":
        return None
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    governance = Governance.from_headers(headers)
    body = _body(exc, response)
    if isinstance(status, int):
        return error_from_response(status, body, headers, governance)
    if isinstance(body, Mapping) and body.get("type"):  # an error event inside a stream
        return error_from_event(body, governance)
    return None


def _body(exc: BaseException, response: Any) -> Any:
    try:
        return response.json()
    except Exception:  # not read, not JSON or no response: openai's parsed body
        return getattr(exc, "body", None)


@contextmanager
def governed() -> Iterator[None]:
    """Re-raise the `openai` errors of a framework call as TapPass errors.

    A 403 from the gateway becomes `PolicyBlockError` with `.step` and `.reason`; errors
    that did not come from the gateway pass through unchanged.
    """
    try:
        yield
    except Exception as exc:
        translated = translate_error(exc)
        if translated is None or translated is exc:
            raise
        raise translated from exc


def require(module: str, package: str, helper: str) -> Any:
    """Import a framework module or raise an ImportError that says what to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{helper} needs the {package!r} package: pip install {package}") \
            from exc
