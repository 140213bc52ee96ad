"""Constructor forms, URL and key resolution, flags: all checked before any request."""

from __future__ import annotations

import httpx
import pytest

from tappass import Agent, AsyncAgent, ConfigurationError
from tests.sdk.conftest import KEY, URL, Script, ok


@pytest.mark.parametrize("url, expected", [
    ("https://tappass.client.internal/v1", "https://tappass.client.internal/v1"),
    ("https://tappass.client.internal/v1/", "https://tappass.client.internal/v1"),
    ("https://tappass.client.internal", "https://tappass.client.internal/v1"),
    ("http://127.0.0.1:9620/", "http://127.0.0.1:9620/v1"),
    ("http://gw:8080/tappass", "http://gw:8080/tappass/v1"),
])
def test_url_works_with_or_without_v1(url: str, expected: str) -> None:
    agent = Agent(url, KEY)
    assert agent.base_url == expected
    assert agent.url == expected.removesuffix("/v1")


@pytest.mark.parametrize("url", ["localhost:9620", "ftp://gw/v1", "http://", "http://gw/?a=1"])
def test_bad_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid gateway URL"):
        Agent(url, KEY)


def test_url_and_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPPASS_URL", "http://env-gw:1234")
    monkeypatch.setenv("TAPPASS_API_KEY", "tp_from_env")
    agent = Agent()
    assert agent.base_url == "http://env-gw:1234/v1" and agent.api_key == "tp_from_env"


def test_default_url_is_the_local_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Agent(api_key=KEY).base_url == "http://127.0.0.1:9620/v1"


def test_seed_002_enforce_form_takes_the_key_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPPASS_API_KEY", "tp_from_env")
    url = URL
    agent = Agent(url, flags={"mode": "enforce"})  # Now blocks violations
    assert agent.api_key == "tp_from_env" and agent.flags == {"mode": "enforce"}


def test_missing_key_names_both_ways_to_give_it() -> None:
    with pytest.raises(ConfigurationError, match="api_key=.*TAPPASS_API_KEY"):
        Agent(URL)
    with pytest.raises(ConfigurationError):
        AsyncAgent(URL)


def test_seed_003_flags_are_valid() -> None:
    url = URL
    agent = Agent(url, KEY, flags={
        "pii": "mask",  # mask | redact | tokenize | off
        "mode": "observe",  # observe | enforce | off
        "email": "internal:company.com",  # restrict email sending
        "budget": "standard",  # dev | standard | custom:<per_call>:<per_session>
    })
    assert agent.headers()["X-TapPass-Flags"] == (
        "budget=standard, email=internal:company.com, mode=observe, pii=mask")


def test_flags_precedence_env_then_constructor_then_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPPASS_FLAGS", "mode=observe, pii=mask, email=internal:company.com")
    script = Script(ok())
    agent = script.agent(flags={"mode": "enforce"})
    assert agent.flags == {"mode": "enforce", "pii": "mask", "email": "internal:company.com"}
    agent.chat("hi", model="gpt-4o", flags={"pii": "redact"})
    assert script.requests[-1].headers["x-tappass-flags"] == (
        "email=internal:company.com, mode=enforce, pii=redact")
    agent.chat.completions.create(model="gpt-4o", messages="hi")
    assert script.requests[-1].headers["x-tappass-flags"] == (
        "email=internal:company.com, mode=enforce, pii=mask")


def test_flags_as_text_like_the_header() -> None:
    assert Agent(URL, KEY, flags="mode=observe, pii=mask").flags == {
        "mode": "observe", "pii": "mask"}


def test_no_flags_no_header() -> None:
    script = Script(ok())
    script.agent().chat("hi", model="m")
    assert "x-tappass-flags" not in script.requests[0].headers


@pytest.mark.parametrize("flags, message", [
    ({"mode": "loud"}, "invalid value 'loud' for flag 'mode'"),
    ({"colour": "blue"}, "unknown flag 'colour'"),
    ({"mode": True}, "must be a string"),
    ("mode", "malformed flag"),
])
def test_invalid_constructor_flag_fails_before_any_request(flags: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Agent(URL, KEY, flags=flags)  # type: ignore[arg-type]


def test_invalid_env_flags_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPPASS_FLAGS", "mode=sometimes")
    with pytest.raises(ConfigurationError, match="TAPPASS_FLAGS.*'sometimes'"):
        Agent(URL, KEY)


def test_invalid_call_flag_sends_nothing() -> None:
    script = Script(ok())
    agent = script.agent()
    with pytest.raises(ConfigurationError, match="flags= of the call"):
        agent.chat("hi", model="gpt-4o", flags={"pii": "shout"})
    with pytest.raises(ConfigurationError):
        agent.chat.completions.create(model="gpt-4o", messages="hi", stream=True,
                                      flags={"budget": "lots"})
    assert script.requests == []


async def test_invalid_call_flag_sends_nothing_async() -> None:
    script = Script(ok())
    agent = script.async_agent()
    with pytest.raises(ConfigurationError):
        await agent.chat("hi", model="gpt-4o", flags={"pii": "shout"})
    assert script.requests == []
    await agent.close()


def test_name_session_and_key_headers() -> None:
    script = Script(ok())
    agent = script.agent(name="claims-processor", session_id="sess-1")
    agent.chat("one", model="gpt-4o")
    agent.chat("two", model="gpt-4o", session_id="sess-2")
    first, second = script.requests
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.headers["x-tappass-agent-name"] == "claims-processor"
    assert first.headers["x-session-id"] == "sess-1"
    assert second.headers["x-session-id"] == "sess-2"
    assert first.headers["user-agent"].startswith("tappass-python/")


def test_headers_for_other_clients_leave_the_key_out() -> None:
    headers = Agent(URL, KEY, name="bot", flags={"mode": "observe"}).headers()
    assert "Authorization" not in headers
    assert headers["X-TapPass-Flags"] == "mode=observe"


@pytest.mark.parametrize("option", ["name", "session_id"])
def test_non_ascii_header_values_are_rejected(option: str) -> None:
    with pytest.raises(ConfigurationError, match=option):
        Agent(URL, KEY, **{option: "caf\u00e9\n"})  # type: ignore[arg-type]


def test_chat_without_any_model_is_a_configuration_error() -> None:
    script = Script(ok())
    with pytest.raises(ConfigurationError, match="no model"):
        script.agent().chat("hi")
    script.agent(model="gpt-4o").chat("hi")
    assert script.last_body["model"] == "gpt-4o"
    with pytest.raises(ConfigurationError, match="stream=True"):
        script.agent().chat("hi", model="m", stream=True)
    assert len(script.requests) == 1


def test_negative_retries_are_rejected() -> None:
    with pytest.raises(ConfigurationError):
        Agent(URL, KEY, max_retries=-1)


def test_own_http_client_is_left_open() -> None:
    client = httpx.Client(transport=httpx.MockTransport(Script(ok())))
    with Agent(URL, KEY, http_client=client) as agent:
        agent.chat("x", model="m")
    assert not client.is_closed
    client.close()
