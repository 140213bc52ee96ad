"""The Python snippets of docs/sdk.md ("Integrate an agent") run as written against a gateway.

Only the gateway URL and the `tp_...` key are replaced; `prompt` and `url` are given, as the
seed snippets assume them. Snippets for a framework that is not installed are skipped.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import warnings
from pathlib import Path

import pytest

from tests.sdk.conftest import register
from tests.support.gateway import Gateway

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Integrate an agent"


def _section() -> str:
    text = (ROOT / "docs" / "sdk.md").read_text()
    assert HEADING in text, f"no {HEADING!r} section in docs/sdk.md"
    return text.split(HEADING, 1)[1].split("\n## ", 1)[0]


def test_the_readme_links_the_guides() -> None:
    readme = (ROOT / "README.md").read_text()
    for link in ("docs/sdk.md", "docs/configuration.md"):
        assert f"]({link})" in readme and (ROOT / link).exists()


def _snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", _section(), flags=re.S)


def test_the_section_mirrors_the_onboarding_playbook() -> None:
    section = _section()
    for text in ('flags={"mode": "enforce"}', 'export TAPPASS_FLAGS="mode=enforce"',
                 '"mode": "observe"', "agent.chat.completions.create(", "PolicyBlockError",
                 "would_block"):
        assert text in section
    assert len(_snippets()) >= 6


def test_python_snippets_run(gw: Gateway, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    key = register(gw, "docs-claims-processor", "standard")
    monkeypatch.setenv("TAPPASS_API_KEY", key)
    for switch in ("OTEL_SDK_DISABLED", "CREWAI_DISABLE_TELEMETRY", "CREWAI_DISABLE_TRACKING"):
        monkeypatch.setenv(switch, "true")  # if crewai is installed: no telemetry
    namespace: dict[str, object] = {"prompt": "Summarise claim 42", "url": gw.url}
    ran = 0
    for snippet in _snippets():
        needs = [m for m in ("crewai", "langchain_openai")
                 if m.split("_")[0] in snippet and importlib.util.find_spec(m) is None]
        if needs:
            continue
        code = snippet.replace("http://127.0.0.1:9620", gw.url).replace("tp_...", key)
        with warnings.catch_warnings():  # crewai warns about its own internals
            warnings.simplefilter("ignore", ImportWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            exec(compile(code, "docs/sdk.md", "exec"), namespace)  # noqa: S102
        if "async def main" in snippet:
            asyncio.run(namespace["main"]())  # type: ignore[operator]
        ran += 1
    assert ran >= 6
    assert "upstream says: Summarise claim 42" in capsys.readouterr().out
