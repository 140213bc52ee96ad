"""LangChain and CrewAI through the gateway, and `governed()` for the openai errors they raise."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import openai
import pytest

from tappass import Agent, AsyncAgent, PolicyBlockError, UpstreamError
from tappass.sdk.integrations import governed, translate_error
from tests.sdk.conftest import KEY, URL, register
from tests.support.gateway import Gateway

NUL = "x\x00y"


def _agent(gw: Gateway, agent_name: str, preset: str = "standard", **options: Any) -> Agent:
    return Agent(gw.url, register(gw, agent_name, preset), **options)


@pytest.mark.e2e
def test_langchain_chat_model_through_the_gateway(gw: Gateway) -> None:
    pytest.importorskip("langchain_openai", reason="langchain-openai is not installed")
    from tappass.sdk.integrations.langchain import chat_model

    agent = _agent(gw, "lc-bot", flags={"mode": "observe"}, name="lc-bot")
    llm = chat_model(agent, model="tappass/echo", temperature=0)
    assert llm.invoke("Hello from LangChain").content == "Hello from LangChain"
    assert "".join(c.content for c in llm.stream("streamed words")) == "streamed words"

    enforcing = chat_model(agent, model="tappass/echo", flags={"mode": "enforce"})
    with pytest.raises(PolicyBlockError) as info, governed():
        enforcing.invoke(NUL)
    assert info.value.step == "validate_input" and info.value.audit_id.startswith("ae_")


@pytest.mark.e2e
async def test_langchain_async_with_an_async_agent(gw: Gateway) -> None:
    pytest.importorskip("langchain_openai", reason="langchain-openai is not installed")
    from tappass.sdk.integrations.langchain import chat_model

    agent = AsyncAgent(gw.url, register(gw, "lc-async"))
    reply = await chat_model(agent, model="tappass/echo").ainvoke("async LangChain")
    assert reply.content == "async LangChain"
    await agent.close()


def test_langchain_helper_passes_agent_settings() -> None:
    pytest.importorskip("langchain_openai", reason="langchain-openai is not installed")
    from tappass.sdk.integrations.langchain import chat_model

    agent = Agent(URL, KEY, name="bot", flags={"mode": "observe"}, session_id="s1",
                  max_retries=4)
    llm = chat_model(agent, model="gpt-4o", flags={"pii": "mask"}, temperature=0.5)
    assert llm.openai_api_base == f"{URL}/v1" and llm.max_retries == 4
    assert llm.default_headers["X-TapPass-Flags"] == "mode=observe, pii=mask"
    assert llm.default_headers["X-Session-Id"] == "s1"
    assert llm.openai_api_key.get_secret_value() == KEY and llm.temperature == 0.5


@pytest.mark.e2e
def test_crewai_llm_through_the_gateway(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    for switch in ("OTEL_SDK_DISABLED", "CREWAI_DISABLE_TELEMETRY", "CREWAI_DISABLE_TRACKING"):
        monkeypatch.setenv(switch, "true")  # no telemetry leaves the test machine
    pytest.importorskip("crewai", reason="crewai is not installed (heavy; see docs/sdk.md)")
    from tappass.sdk.integrations.crewai import llm

    agent = _agent(gw, "crew-bot", flags={"mode": "observe"})
    model = llm(agent, model="tappass/echo")
    assert model.call("Hello from CrewAI") == "Hello from CrewAI"
    with pytest.raises(PolicyBlockError) as info, governed():
        llm(agent, model="tappass/echo", flags={"mode": "enforce"}).call(NUL)
    assert info.value.step == "validate_input"


def test_missing_framework_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from tappass.sdk.integrations import crewai, langchain

    monkeypatch.setitem(sys.modules, "crewai", None)  # `import crewai` now fails
    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    agent = Agent(URL, KEY)
    with pytest.raises(ImportError, match="pip install langchain-openai"):
        langchain.chat_model(agent)
    with pytest.raises(ImportError, match="pip install crewai"):
        crewai.llm(agent)


@pytest.mark.e2e
def test_governed_translates_openai_package_errors(gw: Gateway) -> None:
    key = register(gw, "oa-governed", "standard")
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(PolicyBlockError) as info, governed():
        client.chat.completions.create(model="tappass/echo",
                                       messages=[{"role": "user", "content": NUL}])
    assert info.value.step == "validate_input"
    assert isinstance(info.value.__cause__, openai.PermissionDeniedError)
    assert info.value.governance is not None and info.value.governance.verdict(
        "validate_input") == "block"
    with pytest.raises(UpstreamError), governed():
        client.chat.completions.create(model="fail-500",
                                       messages=[{"role": "user", "content": "x"}])


def test_governed_leaves_other_errors_alone() -> None:
    with pytest.raises(KeyError), governed():
        raise KeyError("x")
    assert translate_error(ValueError("x")) is None


def test_translate_an_openai_stream_error_event() -> None:
    request = httpx.Request("POST", f"{URL}/v1/chat/completions")
    exc = openai.APIError("blocked", request, body={
        "message": "secret", "type": "policy_violation", "code": "blocked",
        "step": "detect_secrets", "reason": "secret in output", "audit_id": "ae_1"})
    error = translate_error(exc)
    assert isinstance(error, PolicyBlockError) and error.step == "detect_secrets"
