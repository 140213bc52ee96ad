"""The seeds' YAML snippets, as files, shared by the API and CLI tests."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
NAMES = {"pii": "003-pii-allowlist", "injection": "003-injection",
         "multimodal": "003-no-multimodal", "classification": "003-classification",
         "onboarding": "002-onboarding", "onboarding-nested": "002-onboarding-nested"}


def snippet(key: str) -> str:
    """The text of one seed snippet by short name (see NAMES)."""
    return (HERE / f"{NAMES[key]}.yaml").read_text()
