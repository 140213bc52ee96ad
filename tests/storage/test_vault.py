"""The key vault: AES-256-GCM under TAPPASS_VAULT_KEY, stored by every backend.

A wrong key, a tampered ciphertext or a ciphertext moved under another name give a clear
error that names the variable, and decrypt nothing.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from tappass.errors import ConfigError, RequestError
from tappass.settings import load_settings
from tappass.storage.base import SecretRecord, Store
from tappass.vault.cipher import Cipher, VaultError, new_key
from tappass.vault.service import Vault

KEY, OTHER = new_key(), new_key()
SECRET = "sk-ant-api03-very-secret"


def test_a_sealed_value_opens_only_under_its_key_and_name() -> None:
    cipher = Cipher(KEY)
    sealed = cipher.seal("ANTHROPIC_API_KEY", SECRET)
    assert SECRET not in sealed and cipher.open("ANTHROPIC_API_KEY", sealed) == SECRET
    assert cipher.seal("ANTHROPIC_API_KEY", SECRET) != sealed  # a fresh nonce each time
    with pytest.raises(VaultError, match="TAPPASS_VAULT_KEY is not the key") as wrong:
        Cipher(OTHER).open("ANTHROPIC_API_KEY", sealed)
    assert SECRET not in str(wrong.value)
    with pytest.raises(VaultError, match="altered"):
        cipher.open("OPENAI_API_KEY", sealed)  # the name is bound as associated data
    version, nonce, body = sealed.split(".")
    flipped = base64.b64decode(body)
    flipped = bytes([flipped[0] ^ 1]) + flipped[1:]
    with pytest.raises(VaultError, match="does not decrypt"):
        cipher.open("ANTHROPIC_API_KEY", f"{version}.{nonce}.{base64.b64encode(flipped).decode()}")


@pytest.mark.parametrize("value,problem", [("not base64!", "base64 of 32 random bytes"),
                                           (base64.b64encode(b"short").decode(), "got 5 bytes")])
def test_a_malformed_vault_key_stops_the_settings_naming_the_variable(value: str,
                                                                     problem: str) -> None:
    with pytest.raises(ConfigError, match=f"TAPPASS_VAULT_KEY: .*{problem}") as caught:
        load_settings(vault_key=value)
    assert value not in str(caught.value)


async def test_set_list_delete_and_the_next_load(store: Store) -> None:
    vault = Vault(store, KEY)
    await vault.load()
    await vault.set("ANTHROPIC_API_KEY", SECRET)
    await vault.set("GEMINI_API_KEY", "g-1")
    first = (await vault.records())[0]
    await vault.set("ANTHROPIC_API_KEY", "sk-ant-2")
    records = await vault.records()
    assert [r.name for r in records] == ["ANTHROPIC_API_KEY", "GEMINI_API_KEY"]
    assert records[0].created_at == first.created_at and records[0].updated_at >= first.updated_at
    assert all(SECRET not in r.sealed and "sk-ant-2" not in r.sealed for r in records)
    again = Vault(store, KEY)
    await again.load()
    assert again.get("ANTHROPIC_API_KEY") == "sk-ant-2" and again.get("GEMINI_API_KEY") == "g-1"
    assert await again.delete("GEMINI_API_KEY") and not await again.delete("GEMINI_API_KEY")
    assert again.get("GEMINI_API_KEY") is None
    with pytest.raises(RequestError, match="vault secret name"):
        await again.set("bad name", "x")


async def test_a_wrong_key_or_a_tampered_row_loads_nothing(store: Store) -> None:
    await Vault(store, KEY).set("ANTHROPIC_API_KEY", SECRET)
    wrong = Vault(store, OTHER)
    with pytest.raises(VaultError, match="TAPPASS_VAULT_KEY is not the key"):
        await wrong.load()
    assert wrong.get("ANTHROPIC_API_KEY") is None
    with pytest.raises(VaultError, match="TAPPASS_VAULT_KEY is not set"):
        await Vault(store, None).load()
    record = (await store.list_secrets())[0]
    now = datetime.now(UTC)
    tampered = Cipher(KEY).seal("OPENAI_API_KEY", "planted")  # sealed under another name
    await store.save_secret(SecretRecord("ANTHROPIC_API_KEY", tampered, now, now))
    vault = Vault(store, KEY)
    with pytest.raises(VaultError, match="'ANTHROPIC_API_KEY' does not decrypt"):
        await vault.load()
    assert vault.get("ANTHROPIC_API_KEY") is None
    await store.save_secret(record)


async def test_rekey_reencrypts_everything_under_the_new_key(store: Store) -> None:
    vault = Vault(store, KEY)
    await vault.set("ANTHROPIC_API_KEY", SECRET)
    await vault.set("OPENAI_API_KEY", "sk-openai")
    assert await vault.rekey(OTHER) == 2
    with pytest.raises(VaultError):
        await Vault(store, KEY).load()  # the old key no longer opens the vault
    fresh = Vault(store, OTHER)
    await fresh.load()
    assert fresh.get("ANTHROPIC_API_KEY") == SECRET and fresh.get("OPENAI_API_KEY") == "sk-openai"
    with pytest.raises(VaultError, match="not the key"):
        await Vault(store, KEY).set("X", "y")  # never a mix of secrets under two keys


async def test_another_gateway_notices_a_change_through_the_stored_version(store: Store) -> None:
    here, there = Vault(store, KEY), Vault(store, KEY)
    await here.load()
    await there.load()
    await here.set("ANTHROPIC_API_KEY", SECRET)
    assert there.get("ANTHROPIC_API_KEY") is None
    await there.refresh()
    assert there.get("ANTHROPIC_API_KEY") == SECRET
    await here.delete("ANTHROPIC_API_KEY")
    await there.refresh()
    assert there.get("ANTHROPIC_API_KEY") is None
