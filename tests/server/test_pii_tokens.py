"""pii=tokenize through the gateway: the provider sees tokens, the agent sees values."""

from __future__ import annotations

from typing import Any

import orjson

from tappass.pipeline.tokens import TOKEN_RE
from tests.conftest import Gateway
from tests.support.fake_upstream import FakeUpstream

PROMPT = "Please email John Smith at john@example.com about the invoice."
SESSION = {"X-Session-Id": "claims-42"}


def sent(upstream: FakeUpstream) -> str:
    return orjson.dumps(upstream.requests[-1]["body"]["messages"]).decode()


async def chat(gw: Gateway, key: str, messages: list[dict[str, Any]],
               headers: dict[str, str] | None = None, model: str = "gpt-4o") -> Any:
    response = await gw.client.post("/v1/chat/completions", headers={
        "Authorization": f"Bearer {key}", **(headers or {})},
        json={"model": model, "messages": messages})
    assert response.status_code == 200, response.text
    return response


async def test_two_turns_of_one_session(proxied: Gateway, upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("claims", preset="regulated", flags={"pii": "tokenize"})
    turn1 = [{"role": "user", "content": PROMPT}]
    first = await chat(proxied, key, turn1, SESSION)
    provider_saw = sent(upstream)
    assert "john@example.com" not in provider_saw and "John Smith" not in provider_saw
    tokens1 = TOKEN_RE.findall(provider_saw)
    assert {kind for kind, _ in tokens1} == {"PERSON", "EMAIL"}
    answer = first.json()["choices"][0]["message"]["content"]
    assert answer == f"upstream says: {PROMPT}"            # restored: the agent sees no token
    assert first.headers["x-session-id"] == "claims-42"

    turn2 = [*turn1, {"role": "assistant", "content": answer},
             {"role": "user", "content": "Cc john@example.com and JOHN@example.com too."}]
    second = await chat(proxied, key, turn2, SESSION)
    provider_saw = sent(upstream)
    assert "john@example.com" not in provider_saw.lower()
    email = next(f"[TOKEN_{k}_{h}]" for k, h in tokens1 if k == "EMAIL")
    assert provider_saw.count(email) == 4     # turn 1, the echoed answer, and both of turn 2
    assert second.json()["choices"][0]["message"]["content"] == (
        "upstream says: Cc john@example.com and john@example.com too.")  # first form kept

    event = await proxied.event(second.headers["x-tappass-audit-id"])
    steps = {(s["step"], s["phase"]): s for s in event["steps"]}
    assert steps[("pii_tokenization", "before")]["verdict"] == "transform"
    assert steps[("pii_restore", "after")]["verdict"] == "transform"
    assert "john@example.com" not in orjson.dumps(event).decode()


async def test_another_session_gets_other_tokens(proxied: Gateway,
                                                 upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("claims", preset="regulated", flags={"pii": "tokenize"})
    await chat(proxied, key, [{"role": "user", "content": PROMPT}], SESSION)
    first = set(TOKEN_RE.findall(sent(upstream)))
    await chat(proxied, key, [{"role": "user", "content": PROMPT}], {"X-Session-Id": "other"})
    assert first and first.isdisjoint(TOKEN_RE.findall(sent(upstream)))


async def test_tool_call_arguments_are_restored(proxied: Gateway,
                                                upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("mailer", preset="standard", flags={"pii": "tokenize"})
    wanted = orjson.dumps({"name": "send_note", "arguments": {
        "to": "john@example.com", "body": "Hi John Smith"}}).decode()
    response = await chat(proxied, key, [{"role": "user", "content": wanted}], SESSION,
                          model="tool-from-prompt")
    assert "john@example.com" not in sent(upstream)
    call = response.json()["choices"][0]["message"]["tool_calls"][0]
    assert orjson.loads(call["function"]["arguments"]) == {
        "to": "john@example.com", "body": "Hi John Smith"}


async def test_an_unknown_token_is_left_and_recorded(proxied: Gateway,
                                                     upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("claims", preset="regulated", flags={"pii": "tokenize"})
    response = await chat(proxied, key, [{"role": "user", "content": (
        "Repeat [TOKEN_EMAIL_0badf00d] please")}], SESSION)
    assert "[TOKEN_EMAIL_0badf00d]" in response.json()["choices"][0]["message"]["content"]
    event = await proxied.event(response.headers["x-tappass-audit-id"])
    restore = next(s for s in event["steps"] if s["step"] == "pii_restore")
    assert restore["verdict"] == "flag"
    assert [f["type"] for f in restore["findings"]] == ["UNKNOWN_TOKEN"]


async def test_mapping_is_sealed_in_the_shared_store(proxied: Gateway,
                                                     upstream: FakeUpstream) -> None:
    key = await proxied.add_agent("claims", preset="regulated", flags={"pii": "tokenize"})
    await chat(proxied, key, [{"role": "user", "content": PROMPT}], SESSION)
    stored = await proxied.services.kv.hash_get("s:claims:claims-42:tokens")
    assert set(stored) == {m.group(0) for m in TOKEN_RE.finditer(sent(upstream))}
    assert len(stored) == 2
    assert not any("john" in value.lower() for value in stored.values())


async def test_a_token_split_anywhere_in_a_stream_is_restored(gateway: Gateway) -> None:
    from tappass.pipeline.token_vault import mapping_key
    from tests.server.stream_support import events, script, streamed_text

    key = await gateway.add_agent("claims", preset="regulated", flags={"pii": "tokenize"})
    script(gateway, ["noted"])
    await chat(gateway, key, [{"role": "user", "content": PROMPT}], SESSION, "tappass/echo")
    issued = await gateway.services.kv.hash_get(mapping_key("claims", "claims-42"))
    [email] = [t for t in issued if t.startswith("[TOKEN_EMAIL_")]
    answer = f"I will write to {email} today; {email} is on file."
    for cut in (1, 7, 14, len(email) - 1):
        at = answer.index(email) + cut
        script(gateway, [answer[:at], answer[at:]])
        response = await gateway.client.post("/v1/chat/completions", headers={
            "Authorization": f"Bearer {key}", **SESSION}, json={
            "model": "tappass/echo", "stream": True,
            "messages": [{"role": "user", "content": "status?"}]})
        assert response.status_code == 200, response.text
        payloads = events(response.text)
        assert streamed_text(payloads) == answer.replace(email, "john@example.com"), cut
        assert not any("[TOKEN_" in p or email[:9] in p for p in payloads)
        event = await gateway.event(response.headers["x-tappass-audit-id"])
        restore = next(s for s in event["steps"] if s["step"] == "pii_restore")
        assert (event["status"], restore["verdict"]) == ("allowed", "transform")
        assert "john@example.com" not in orjson.dumps(event).decode()

