"""Flags cannot be used to escape governance: the real gateway process, header-only attempts.

A request may always make governance stricter. It may loosen the agent's configuration
(pipeline defaults < agent flags) only where the agent's admin allows it; the loosenings
it makes are recorded in the audit event as `loosened_flags`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tappass import Agent, PolicyBlockError
from tests.support.fake_upstream import UPSTREAM_KEY, FakeUpstream
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.e2e


class Harness:
    """The gateway and one HTTP client for the module (a client per call costs ~40 ms)."""

    def __init__(self, gateway: Gateway, client: httpx.Client) -> None:
        self.gateway = gateway
        self.http = client

    def register(self, flags: dict[str, str], **policy: list[str]) -> tuple[str, str]:
        """A fresh agent on the standard pipeline: its name and key."""
        name = f"bot-{secrets.token_hex(3)}"
        response = self.http.post("/v1/agents", headers=self.gateway.admin_headers, json={
            "name": name, "preset": "standard", "flags": flags, **policy})
        assert response.status_code == 201, response.text
        return name, str(response.json()["api_key"])

    def chat(self, key: str, flags: str | None = None, *, model: str = "tappass/echo",
             **body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"}
        if flags is not None:
            headers["X-TapPass-Flags"] = flags
        return self.http.post("/v1/chat/completions", headers=headers, json={
            "model": model, "messages": [{"role": "user", "content": "hi"}], **body})

    def audit_event(self, name: str, response: httpx.Response) -> dict[str, Any]:
        audit_id = response.headers["x-tappass-audit-id"]
        page = self.http.get("/v1/audit", params={"agent": name, "limit": "100"},
                             headers=self.gateway.admin_headers).json()
        [event] = [e for e in page["data"] if e["id"] == audit_id]
        return event

    def allow(self, name: str, *flags: str) -> None:
        response = self.http.patch(f"/v1/agents/{name}", headers=self.gateway.admin_headers,
                                   json={"loosenable_flags": list(flags)})
        assert response.status_code == 200, response.text
        assert response.json()["loosenable_flags"] == sorted(flags)


@pytest.fixture(scope="module")
def gw(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    env = {"OPENAI_BASE_URL": upstream.url, "OPENAI_API_KEY": UPSTREAM_KEY}
    with running_gateway(tmp_path_factory.mktemp("flags"), env=env,
                         args=("--storage", "local")) as gateway, \
            httpx.Client(base_url=gateway.url, timeout=10) as client:
        yield Harness(gateway, client)


ESCAPES = [
    # (the agent's flags, the request's header, the flag it loosens)
    ({}, "mode=off", "mode"),                             # default flags: the red team's case
    ({"mode": "observe"}, "mode=off", "mode"),
    ({}, "pii=off", "pii"),
    ({"pii": "mask"}, "pii=off", "pii"),
    ({}, "budget=unlimited", "budget"),                    # the pipeline's default: standard
    ({"budget": "dev"}, "budget=unlimited", "budget"),
    ({"budget": "dev"}, "budget=custom:5:1", "budget"),    # per-call cap above dev's $0.10
    ({"budget": "standard"}, "budget=custom:1:100", "budget"),  # per-session above $50
    ({"email": "block"}, "email=allow", "email"),
    ({"email": "internal:company.com"}, "email=allow", "email"),
    ({"email": "internal:company.com"}, "email=internal:evil.example", "email"),
]


@pytest.mark.parametrize("agent_flags, header, flag", ESCAPES)
def test_an_escape_is_refused_unless_the_admin_allows_it(
        gw: Harness, agent_flags: dict[str, str], header: str, flag: str) -> None:
    name, key = gw.register(agent_flags)
    refused = gw.chat(key, header)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["type"], error["step"], error["blocked_by"]) == (
        "flag_locked", "policy_violation", "flags", "flags")
    assert f"flag {header} would loosen" in error["message"]
    assert "loosenable_flags" in error["message"]
    assert f"tappass agents allow-loosening {name} {flag}" in error["message"]
    assert error["audit_id"] == refused.headers["x-tappass-audit-id"]
    event = gw.audit_event(name, refused)
    assert (event["status"], event["http_status"], event["blocked_by"]) == (
        "blocked", 403, "flags")
    assert event["loosened_flags"] == []

    gw.allow(name, flag)
    accepted = gw.chat(key, header)
    assert accepted.status_code == 200, accepted.text
    event = gw.audit_event(name, accepted)
    assert event["status"] == "allowed" and event["loosened_flags"] == [flag]
    key_, value = header.split("=", 1)
    assert event["flags"][key_] == value


def test_the_allowance_really_loosens_the_budget(gw: Harness) -> None:
    """20,000 completion tokens of gpt-4o (about $0.20) exceed dev's $0.10 per call."""
    name, key = gw.register({"budget": "dev"})
    over = gw.chat(key, model="gpt-4o", max_tokens=20_000)
    assert over.status_code == 403 and over.json()["error"]["step"] == "budget_enforcement"
    assert gw.chat(key, "budget=unlimited", model="gpt-4o",
                max_tokens=20_000).json()["error"]["code"] == "flag_locked"
    gw.allow(name, "budget")
    through = gw.chat(key, "budget=unlimited", model="gpt-4o", max_tokens=20_000)
    assert through.status_code == 200, through.text
    assert gw.audit_event(name, through)["loosened_flags"] == ["budget"]


def test_stricter_flags_are_always_accepted(gw: Harness) -> None:
    """Even on flags the admin locked, and with nothing allowed."""
    name, key = gw.register({"mode": "observe", "pii": "off", "email": "allow",
                              "budget": "unlimited"}, locked_flags=["pii", "email", "budget"])
    response = gw.chat(key, "mode=enforce, pii=block, email=internal:company.com, budget=dev")
    assert response.status_code == 200, response.text
    assert response.headers["x-tappass-mode"] == "enforce"
    event = gw.audit_event(name, response)
    assert event["flags"] == {"mode": "enforce", "pii": "block",
                              "email": "internal:company.com", "budget": "dev"}
    assert event["loosened_flags"] == []


def test_observe_is_allowed_by_default_and_audited_as_loosened(gw: Harness) -> None:
    name, key = gw.register({"pii": "block"})
    response = gw.chat(key, "mode=observe, pii=mask")
    assert response.status_code == 200, response.text
    assert response.headers["x-tappass-mode"] == "observe"
    assert gw.audit_event(name, response)["loosened_flags"] == ["mode", "pii"]
    plain = gw.chat(key)
    assert gw.audit_event(name, plain)["loosened_flags"] == []


def test_observe_is_refused_when_mode_is_locked(gw: Harness) -> None:
    """A lock wins over an allowance: the flag may only be made stricter."""
    name, key = gw.register({"mode": "enforce"}, locked_flags=["mode"],
                         loosenable_flags=["mode"])
    for header in ("mode=observe", "mode=off"):
        response = gw.chat(key, header)
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "flag_locked" and "'mode' is locked" in error["message"]
        assert f"tappass agents unlock-flag {name} mode" in error["message"]
    assert gw.chat(key, "mode=enforce").status_code == 200


def test_the_sdk_and_tappass_flags_cannot_escape_either(
        gw: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """`flags=` and TAPPASS_FLAGS travel in the same header: the same refusal, as an error
    the agent's code can catch."""
    name, key = gw.register({})
    url = gw.gateway.url
    with pytest.raises(PolicyBlockError) as info:
        Agent(url, key, flags={"mode": "off"}, max_retries=0).chat("hi", model="tappass/echo")
    assert (info.value.status, info.value.step) == (403, "flags")
    assert "allow-loosening" in info.value.reason
    monkeypatch.setenv("TAPPASS_FLAGS", "budget=unlimited")
    with pytest.raises(PolicyBlockError, match="flag budget=unlimited would loosen"):
        Agent(url, key, max_retries=0).chat("hi", model="tappass/echo")
    gw.allow(name, "budget")
    reply = Agent(url, key, max_retries=0).chat("hi", model="tappass/echo")
    assert reply.governance.flags["budget"] == "unlimited"
