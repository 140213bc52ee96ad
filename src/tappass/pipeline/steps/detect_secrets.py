"""detect_secrets: API keys, tokens, private keys, JWTs and passwords, redacted or blocked.

Runs before the call (on the request) and after it (on the answer). `action: redact`
(the default) replaces each secret with `[REDACTED:<TYPE>]` so the provider, or the agent,
never sees it; `block` refuses; `flag` only records.
"""

from __future__ import annotations

from typing import Any

from tappass.detect.scan import Detector
from tappass.detect.secrets import detect_secrets
from tappass.detect.secrets.structured import unfinished_block
from tappass.pipeline.options import SecretsOptions
from tappass.pipeline.steps._data_detection import DataDetectionStep


class DetectSecrets(DataDetectionStep):
    id = "detect_secrets"
    what = "secret"

    Options = SecretsOptions

    def detector(self, options: Any) -> tuple[str, Detector]:
        return "secrets", detect_secrets

    def stream_hold(self, text: str) -> int:
        return unfinished_block(text)  # a private key is judged whole, END line included
