"""Azure OpenAI: OpenAI's wire format behind Azure's URLs and `api-key` header.

The model the agent names (`azure/<deployment>`) is the deployment. With an `api-version`
date the classic path is used (`/openai/deployments/<deployment>/chat/completions
?api-version=...`); with `AZURE_OPENAI_API_VERSION=v1` the newer `/openai/v1/` path, where
the deployment travels as `model` in the body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson

from tappass.providers.http import Call
from tappass.providers.openai_compat import KeySource, OpenAIDialect

DEFAULT_API_VERSION = "2024-10-21"


class AzureDialect(OpenAIDialect):
    def __init__(self, endpoint: str, key: KeySource, api_version: str) -> None:
        super().__init__("", key, header="api-key", scheme="")
        self._endpoint = endpoint.rstrip("/").removesuffix("/openai/v1").removesuffix("/openai")
        self._version = api_version

    def url(self, deployment: str) -> str:
        if self._version == "v1":
            return f"{self._endpoint}/openai/v1/chat/completions"
        return (f"{self._endpoint}/openai/deployments/{quote(deployment, safe='')}"
                f"/chat/completions?api-version={quote(self._version, safe='')}")

    def call(self, body: dict[str, Any], *, stream: bool) -> Call:
        return Call(self.url(str(body["model"])), orjson.dumps(body), self.headers())
