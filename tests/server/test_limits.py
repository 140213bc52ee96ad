"""Request bounds in-process: body size, TapPass headers, short echoes, the auth-flood guard
and the equal work of an unknown key prefix. The socket-level bounds (header size, deadlines,
connection cap) are tested against the real process in tests/e2e/test_limits_e2e.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tappass import keys
from tappass.clip import clip
from tappass.errors import RequestError
from tappass.policy.flags import FlagError, parse_flags, validate_flags
from tappass.server.auth_flood import AuthFloodGuard
from tappass.server.request_headers import check_flags_header, check_session_id
from tests.conftest import ADMIN_HEADERS, Gateway, gateway_with

CHAT = {"model": "tappass/echo", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def small_body() -> AsyncIterator[Gateway]:
    async for gw in gateway_with(max_body_bytes=2048):
        yield gw


# -- body size -----------------------------------------------------------------------

async def test_body_over_the_limit_is_413_in_openai_shape(small_body: Gateway) -> None:
    key = await small_body.add_agent()
    response = await small_body.chat(key, "x" * 3000)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "body_too_large" and error["type"] == "invalid_request_error"
    assert "2048" in error["message"] and "TAPPASS_MAX_BODY_BYTES" in error["message"]
    assert response.headers["connection"] == "close"
    assert (await small_body.chat(key, "x" * 100)).status_code == 200


async def test_chunked_body_is_refused_once_past_the_limit(small_body: Gateway) -> None:
    key = await small_body.add_agent()
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b"x" * 1000

    response = await small_body.client.post("/v1/chat/completions", content=chunks(),
                                            headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    assert sent <= 4  # refused at the third kilobyte, not after the hundredth


async def test_unauthenticated_body_is_not_read(small_body: Gateway) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b"x" * 1000

    response = await small_body.client.post("/v1/chat/completions", content=chunks(),
                                            headers={"Authorization": "Bearer tp_wrong"})
    assert response.status_code == 401 and sent <= 1


# -- TapPass headers and short echoes --------------------------------------------------

@pytest.mark.parametrize("value", ["sess-1", "a.b_c:d-9", "s" * 128])
def test_session_ids_within_bounds_pass(value: str) -> None:
    assert check_session_id(value) == value


@pytest.mark.parametrize("value", ["s" * 129, "with space", "naïve", "a/b", "x\ny"])
def test_session_ids_out_of_bounds_are_refused(value: str) -> None:
    with pytest.raises(RequestError) as caught:
        check_session_id(value)
    assert caught.value.field == "X-Session-Id" and caught.value.status == 400


@pytest.mark.parametrize("value", ["m" * 513, "mode=observe\t", "pii=mask\u00e9"])
def test_flags_headers_out_of_bounds_are_refused(value: str) -> None:
    with pytest.raises(RequestError) as caught:
        check_flags_header(value)
    assert caught.value.field == "X-TapPass-Flags"


async def test_session_id_header_is_checked_before_it_is_used(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, headers={"X-Session-Id": "z" * 100_000})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "X-Session-Id" and len(error["message"]) < 300
    events = (await gateway.client.get("/v1/audit?agent=bot", headers=ADMIN_HEADERS)).json()
    assert all(len(str(event)) < 3000 for event in events["data"])
    assert (await gateway.chat(key, headers={"X-Session-Id": "run-42"})).status_code == 200


async def test_model_name_is_bounded(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    response = await gateway.chat(key, model="m" * 100_000)
    assert response.status_code == 400 and response.json()["error"]["param"] == "model"
    assert len(response.json()["error"]["message"]) < 300


@pytest.mark.parametrize("text", ["mode=" + "x" * 10_000, "x" * 10_000 + "=on",
                                  "pii" + "y" * 10_000])
def test_flag_errors_echo_only_a_prefix(text: str) -> None:
    with pytest.raises(FlagError) as caught:
        parse_flags(text)
    message = str(caught.value)
    assert len(message) < 200 and "characters)" in message


def test_flag_mapping_errors_echo_only_a_prefix() -> None:
    with pytest.raises(FlagError) as caught:
        validate_flags({"k" * 10_000: 1})
    assert len(str(caught.value)) < 200


async def test_unknown_route_echoes_only_a_prefix_of_the_path(gateway: Gateway) -> None:
    response = await gateway.client.get("/" + "p" * 5000)
    assert response.status_code == 404 and len(response.json()["error"]["message"]) < 200


def test_clip_keeps_short_values_and_cuts_long_ones() -> None:
    assert clip("mode") == "'mode'"
    assert clip("a" * 1000, 10) == "'aaaaaaaaaa'... (1000 characters)"


# -- the auth-failure flood guard --------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_flood_guard_refuses_past_the_limit_and_summarises_each_window() -> None:
    recorded: list[dict[str, Any]] = []

    async def record(event: dict[str, Any]) -> None:
        recorded.append(event)

    clock = Clock()
    guard = AuthFloodGuard(3, 60.0, record, clock=clock)
    verdicts = [guard.failed("10.0.0.1") for _ in range(7)]
    assert verdicts[:3] == [None] * 3 and all(v == 60.0 for v in verdicts[3:])
    assert guard.failed("10.0.0.2") is None  # another address has its own count
    clock.now += 61  # a new window: audited again
    assert guard.failed("10.0.0.1") is None
    await guard.close()  # writes what is due
    assert [(e["client"], e["count"], e["http_status"]) for e in recorded] == \
        [("10.0.0.1", 4, 429)]
    assert recorded[0]["blocked_by"] == "authentication" and recorded[0]["agent"] is None


async def test_flood_guard_writes_the_summary_when_the_window_ends() -> None:
    recorded: list[dict[str, Any]] = []

    async def record(event: dict[str, Any]) -> None:
        recorded.append(event)

    guard = AuthFloodGuard(1, 0.05, record)
    assert [guard.failed("10.0.0.9") is None for _ in range(3)] == [True, False, False]
    for _ in range(100):
        if recorded:
            break
        await asyncio.sleep(0.01)
    assert len(recorded) == 1 and recorded[0]["count"] == 2


async def test_flood_guard_table_stays_bounded() -> None:
    recorded: list[dict[str, Any]] = []

    async def record(event: dict[str, Any]) -> None:
        recorded.append(event)

    guard = AuthFloodGuard(1, 60.0, record, max_clients=100)
    for i in range(1000):  # every address floods: each has a summary due
        for _ in range(3):
            guard.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(guard._windows) <= 100 and len(guard._pending) <= 100
    await guard.close()
    assert len(recorded) == 1000 and {e["count"] for e in recorded} == {2}


# -- item 8: an unknown key prefix does the work of a wrong secret ----------------------

async def test_unknown_prefix_is_hashed_and_compared_like_a_wrong_secret(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    key = await gateway.add_agent()
    compared: list[str] = []
    real = keys.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    directory = gateway.services.agents
    wrong_secret = key[:keys.LOOKUP_CHARS] + "x" * (len(key) - keys.LOOKUP_CHARS)
    unknown_prefix = "tp_" + "z" * (len(key) - 3)
    assert await directory.authenticate(wrong_secret) is None
    assert await directory.authenticate(unknown_prefix) is None
    assert len(compared) == 2 and compared[1] == keys.UNKNOWN_KEY_HASH
    assert compared[0] != keys.UNKNOWN_KEY_HASH  # the agent's own hash
    assert await directory.authenticate(key) is not None
