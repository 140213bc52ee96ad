"""The provider interface: one way to send a chat request, one way to stream it.

Providers speak OpenAI's chat-completions wire format. `complete` returns the parsed answer
and the bytes as received (so an untouched answer is forwarded without re-encoding).
`open_stream` connects and checks the status *before* returning, so upstream failures
become 502/504 responses instead of a broken stream; the iterator yields each SSE `data:`
payload (without the `[DONE]` sentinel).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol


class Provider(Protocol):
    name: str

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]: ...

    async def open_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]: ...

    async def list_models(self) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...
