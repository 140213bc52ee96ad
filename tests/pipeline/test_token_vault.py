"""Token naming, sealing and the key: stable per scope, sealed at rest, collisions refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tappass.errors import ConfigError
from tappass.kv.memory import MemoryKV
from tappass.pipeline.token_vault import KEY_FILE, TokenVault, _key_file, token_vault
from tappass.pipeline.tokens import TOKEN_RE
from tappass.settings import load_settings
from tappass.vault.cipher import new_key

VAULT = TokenVault(b"k" * 32)


@pytest.mark.parametrize(("a", "b", "same"), [
    (("s1", "EMAIL", "john@example.com"), ("s1", "EMAIL", "John@Example.com "), True),
    (("s1", "EMAIL", "john@example.com"), ("s2", "EMAIL", "john@example.com"), False),
    (("s1", "EMAIL", "john@example.com"), ("s1", "PERSON", "john@example.com"), False),
    (("s1", "PERSON", "John  Smith"), ("s1", "PERSON", "john smith"), True)])
def test_tokens_are_stable_per_scope_type_and_normalised_value(
        a: tuple[str, str, str], b: tuple[str, str, str], same: bool) -> None:
    assert TOKEN_RE.fullmatch(VAULT.token(*a))
    assert (VAULT.token(*a) == VAULT.token(*b)) is same


def test_sealed_values_open_only_under_their_token_scope_and_key() -> None:
    sealed = VAULT.seal("s1", "[TOKEN_EMAIL_00000000]", "a@b.io")
    assert "a@b.io" not in sealed
    assert VAULT.open("s1", "[TOKEN_EMAIL_00000000]", sealed) == "a@b.io"
    assert VAULT.open("s2", "[TOKEN_EMAIL_00000000]", sealed) is None
    assert VAULT.open("s1", "[TOKEN_EMAIL_11111111]", sealed) is None
    assert TokenVault(b"x" * 32).open("s1", "[TOKEN_EMAIL_00000000]", sealed) is None
    assert VAULT.open("s1", "[TOKEN_EMAIL_00000000]", "not base64!") is None


async def test_keep_and_values_round_trip_and_refuse_a_collision() -> None:
    kv = MemoryKV()
    token = "[TOKEN_EMAIL_00000000]"
    assert await VAULT.keep(kv, "s1", "k", {token: "a@b.io"}, 60) == set()
    assert await VAULT.keep(kv, "s1", "k", {token: "A@B.io"}, 60) == set()   # same value
    assert await VAULT.values(kv, "s1", "k", {token, "[TOKEN_X_22222222]"}) == {token: "a@b.io"}
    # another value under the same 32 bits (forced here): refused, the first one kept
    assert await VAULT.keep(kv, "s1", "k", {token: "c@d.io"}, 60) == {token}
    assert await VAULT.values(kv, "s1", "k", {token}) == {token: "a@b.io"}


def test_key_file_is_created_0600_once_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "home" / KEY_FILE
    key = _key_file(path)
    assert len(key) == 32 and _key_file(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short")
    with pytest.raises(ConfigError, match="expected base64 of 32 bytes"):
        _key_file(path)


def test_the_vault_key_setting_is_used_when_set(tmp_path: Path) -> None:
    with_key = token_vault(load_settings(storage="memory", home=tmp_path, vault_key=new_key()))
    assert not (tmp_path / KEY_FILE).exists()   # no key file when the vault key is set
    without = token_vault(load_settings(storage="memory", home=tmp_path))
    assert with_key.token("s", "EMAIL", "a@b.io") != without.token("s", "EMAIL", "a@b.io")
    assert (tmp_path / KEY_FILE).exists()   # created for the settings without a vault key


def test_two_values_of_one_request_sharing_a_token_are_both_refused() -> None:
    from tappass.pipeline.step import Finding
    from tappass.pipeline.steps.pii_tokenization import _distinct
    texts = ("a@b.io and A@B.io", "c@d.io")
    per_text = [[Finding("EMAIL", 0, 6), Finding("EMAIL", 11, 17)], [Finding("EMAIL", 0, 6)]]
    same, forced = "[TOKEN_EMAIL_00000000]", "[TOKEN_EMAIL_11111111]"
    values, clashing = _distinct(texts, per_text, [[same, same], [forced]])
    assert values == {same: "a@b.io", forced: "c@d.io"} and clashing == set()
    values, clashing = _distinct(texts, per_text, [[same, same], [same]])   # forced clash
    assert clashing == {same}
