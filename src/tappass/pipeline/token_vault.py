"""Where PII tokens come from and where their values are kept: keyed, sealed, shared.

A token's hex is the HMAC of (scope, type, normalised value) under a server secret, so the
same value gets the same token for as long as the scope lasts (across turns and workers)
and no one without the secret can tell which value a token stands for. The scope is
`<agent>:<session id>`: the session the request names with `X-Session-Id`, or the one the
gateway starts for it when it names none (returned in the `X-Session-Id` response header;
a client that does not send it back gets new tokens each request, so without a session id
the scope is the request).

The values are kept in the shared key-value store (`s:<agent>:<session>:tokens`, a hash
token -> `<fingerprint>.<sealed value>`, expiring with the session), sealed with
AES-256-GCM; the token and the scope are bound as associated data, so a sealed value moved
elsewhere does not open. The fingerprint (a keyed HMAC of the normalised value) lets a
later turn check a token it derives again without decrypting anything.

The secret: 32 bytes derived from `TAPPASS_VAULT_KEY` when it is set, else read from
`<TAPPASS_HOME>/token.key` (base64, created 0600 on first use). Two derived keys are used,
one to name tokens and one to seal values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import unicodedata
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tappass.errors import ConfigError
from tappass.keyfile import create_once
from tappass.pipeline.tokens import HEX_CHARS, make_token, token_type

if TYPE_CHECKING:
    from tappass.kv import KV
    from tappass.settings import Settings

KEY_FILE = "token.key"
_NONCE = 12


def normalised(value: str) -> str:
    """The form two writings of one value share (case, width and spacing folded)."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _read_key(path: Path) -> bytes:
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{path}: expected base64 of 32 bytes; remove the file to generate "
                          "a new key (tokens issued under the old one can no longer be "
                          "restored)")
    return key


def _key_file(path: Path) -> bytes:
    """The key under `path`, created whole (0600) if missing; the first writer wins."""
    if path.exists():
        return _read_key(path)
    create_once(path, base64.b64encode(os.urandom(32)))   # the first writer wins
    return _read_key(path)


@cache
def _vault_for(home: Path, vault_key: str | None) -> TokenVault:
    if vault_key:
        from tappass.vault.cipher import check_vault_key
        secret = hmac.new(check_vault_key(vault_key), b"tappass-pii-tokens",
                          hashlib.sha256).digest()
    else:
        secret = _key_file(home / KEY_FILE)
    return TokenVault(secret)


def token_vault(settings: Settings) -> TokenVault:
    """The token vault of these settings (built on first use, then shared)."""
    vault_key = settings.vault_key.get_secret_value() if settings.vault_key else None
    return _vault_for(settings.home, vault_key)


def mapping_key(agent: str, session_id: str) -> str:
    return f"s:{agent}:{session_id}:tokens"


class TokenVault:
    __slots__ = ("_name_key", "_aead")

    def __init__(self, secret: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._name_key = hmac.new(secret, b"name", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(secret, b"seal", hashlib.sha256).digest())

    def token(self, scope: str, finding_type: str, value: str) -> str:
        """The token of `value` (of `finding_type`) in `scope`: the same every time."""
        kind = token_type(finding_type)
        message = "\0".join((scope, kind, normalised(value))).encode()
        return make_token(kind, hmac.digest(self._name_key, message, "sha256").hex()[:HEX_CHARS])

    def fingerprint(self, value: str) -> str:
        """A keyed digest of the normalised value (taint labels, collision checks): equal for
        equal values, and no one without the secret can test a guess against it."""
        message = b"taint\0" + normalised(value).encode()
        return hmac.digest(self._name_key, message, "sha256").hex()[:24]

    def seal(self, scope: str, token: str, value: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode(), f"{scope}\0{token}".encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, scope: str, token: str, sealed: str) -> str | None:
        """The value, or None when it does not open (another key, or altered)."""
        from cryptography.exceptions import InvalidTag

        try:
            raw = base64.b64decode(sealed, validate=True)
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:],
                                      f"{scope}\0{token}".encode()).decode()
        except (InvalidTag, ValueError, binascii.Error):
            return None

    async def keep(self, kv: KV, scope: str, key: str, values: dict[str, str],
                   ttl: int) -> set[str]:
        """Store token -> value; the tokens that already stood for another value (a
        collision of their 32 bits), which must not be used.

        Each entry is `<fingerprint of the value>.<sealed value>`: a token seen before is
        checked against its fingerprint (one read for all of them) and not sealed again."""
        stored = await kv.hash_get(key)
        clashing: set[str] = set()
        for token, value in values.items():
            mark = self.fingerprint(value)
            entry = stored.get(token)
            if entry is None:
                sealed = self.seal(scope, token, value)
                entry = await kv.hash_set_new(key, token, f"{mark}.{sealed}", ttl)
            if not hmac.compare_digest(entry.partition(".")[0].encode(), mark.encode()):
                clashing.add(token)
        return clashing

    async def values(self, kv: KV, scope: str, key: str, tokens: set[str]) -> dict[str, str]:
        """token -> value for those of `tokens` issued in the scope."""
        stored = await kv.hash_get(key)
        out: dict[str, str] = {}
        for token in tokens:
            entry = stored.get(token)
            value = self.open(scope, token, entry.partition(".")[2]) if entry else None
            if value is not None:
                out[token] = value
        return out
