"""Keys that share a real key's public prefix but not its secret are refused (issue 20)."""

from __future__ import annotations

import os

import pytest

from tappass import keys
from tests.conftest import ADMIN, ADMIN_HEADERS, Gateway


def same_prefix_wrong_secret(key: str) -> str:
    """The key's public lookup prefix followed by a different secret of the same length."""
    prefix, secret = key[:keys.LOOKUP_CHARS], key[keys.LOOKUP_CHARS:]
    forged = "".join("A" if c != "A" else "B" for c in secret)
    assert forged != secret and len(forged) == len(secret)
    return prefix + forged


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_right_prefix_wrong_secret_is_refused_on_the_proxy(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    forged = same_prefix_wrong_secret(key)
    listed = (await gateway.client.get("/v1/agents/bot", headers=ADMIN_HEADERS)).json()
    assert listed["key_prefix"] == forged[:keys.LOOKUP_CHARS]  # the public part is public
    assert (await gateway.chat(key)).status_code == 200  # also warms the auth cache
    response = await gateway.chat(forged)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    models = await gateway.client.get("/v1/models", headers=bearer(forged))
    assert models.status_code == 401


async def test_a_truncated_or_extended_key_is_refused(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    for wrong in (key[:-1], key + "x", key[:keys.LOOKUP_CHARS]):
        assert (await gateway.chat(wrong)).status_code == 401, wrong


@pytest.mark.parametrize("path", ["/v1/agents", "/health/detailed"])
async def test_right_admin_prefix_wrong_secret_is_refused(gateway: Gateway, path: str) -> None:
    assert (await gateway.client.get(path, headers=ADMIN_HEADERS)).status_code == 200
    for wrong in (same_prefix_wrong_secret(ADMIN), ADMIN[:-1], ADMIN + "x", keys.ADMIN_PREFIX):
        response = await gateway.client.get(path, headers=bearer(wrong))
        assert response.status_code == 401, wrong
        assert response.json()["error"]["code"] == "invalid_api_key"


async def test_the_admin_key_is_not_an_agent_key_and_vice_versa(gateway: Gateway) -> None:
    key = await gateway.add_agent()
    assert (await gateway.chat(ADMIN)).status_code == 401
    assert (await gateway.client.get("/v1/agents", headers=bearer(key))).status_code == 401
    assert (await gateway.client.get("/v1/models", headers=ADMIN_HEADERS)).status_code == 200


def test_key_helpers() -> None:
    key = keys.generate_agent_key()
    assert key.startswith("tp_") and not key.startswith("tp_admin_") and len(key) == 46
    admin = keys.generate_admin_key()
    assert admin.startswith("tp_admin_") and len(admin) == 52
    assert keys.generate_agent_key() != key
    assert keys.lookup_prefix(key) == key[:12]
    assert keys.matches(key, keys.hash_key(key))
    assert not keys.matches(same_prefix_wrong_secret(key), keys.hash_key(key))
    assert keys.hash_key("abc") == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    identifier = keys.new_id("ag")
    assert identifier.startswith("ag_") and len(identifier) == 27
    assert keys.new_id("ag") != identifier


def test_ids_are_random_hex_read_from_the_os_many_at_a_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []

    def urandom(n: int) -> bytes:
        reads.append(n)
        return bytes(range(256)) * (n // 256) + bytes(range(n % 256))

    monkeypatch.setattr(keys.os, "urandom", urandom)
    keys.forget_random_parts()
    ids = [keys.new_id("ae") for _ in range(keys.IDS_PER_READ + 1)]
    assert reads == [keys.ID_BYTES * keys.IDS_PER_READ] * 2
    # the last 12 bytes of a block are taken first, and every block is used whole
    assert ids[0] == "ae_" + bytes(range(244, 256)).hex()
    assert ids[keys.IDS_PER_READ - 1] == "ae_" + bytes(range(12)).hex()
    assert all(len(i) == 27 for i in ids)
    keys.forget_random_parts()  # what a forked child does first: none of the parent's
    assert keys.new_id("x") == "x_" + bytes(range(244, 256)).hex() and len(reads) == 3
    keys.forget_random_parts()


async def test_admin_refusals_name_what_to_send(gateway: Gateway) -> None:
    cases = [({}, "missing admin key: send 'Authorization: Bearer tp_admin_...'",
              "missing_api_key"),
             ({"Authorization": "Basic abc"},
              "missing admin key: send 'Authorization: Bearer tp_admin_...'", "missing_api_key"),
             ({"Authorization": "Bearer "},
              "missing admin key: send 'Authorization: Bearer tp_admin_...'", "missing_api_key"),
             ({"Authorization": "Bearer tp_admin_wrong"}, "invalid admin key",
              "invalid_api_key"),
             ({"Authorization": f"Bearer {ADMIN} trailing"}, "invalid admin key",
              "invalid_api_key")]
    for headers, message, code in cases:
        response = await gateway.client.get("/v1/agents", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == {"message": message, "type": "invalid_request_error",
                                            "param": "Authorization", "code": code}


async def test_the_bearer_scheme_is_case_insensitive_and_the_token_trimmed(
        gateway: Gateway) -> None:
    for header in (f"bearer {ADMIN}", f"BEARER  {ADMIN} "):
        response = await gateway.client.get("/v1/agents", headers={"Authorization": header})
        assert response.status_code == 200, header


def test_a_forked_child_never_hands_out_the_ids_its_parent_will() -> None:
    keys.new_id("x")  # the parent holds unused random parts now
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave without running anything else
        os.write(write_end, keys.new_id("x").encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 100).decode()
    os.close(read_end)
    assert child.startswith("x_") and child != keys.new_id("x")
