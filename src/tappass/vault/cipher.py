"""AES-256-GCM sealing of vault secrets under TAPPASS_VAULT_KEY.

The key is base64 of 32 bytes. Each secret gets a fresh 96-bit nonce; the secret's name is
bound as associated data, so a ciphertext copied under another name does not open. A sealed
value is `v1.<base64 nonce>.<base64 ciphertext+tag>`; opening it with the wrong key or a
tampered ciphertext raises VaultError and yields nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from tappass.errors import ConfigError

KEY_VARIABLE = "TAPPASS_VAULT_KEY"
_VERSION = "v1"


class VaultError(ConfigError):
    """A vault key is invalid, or a secret does not decrypt under it."""


def check_vault_key(text: str) -> bytes:
    """The 32 key bytes; ValueError naming what is wrong (never the key itself)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected base64 of 32 random bytes (make one with "
                         "`tappass vault new-key`)") from None
    if len(key) != 32:
        raise ValueError(f"expected base64 of 32 bytes for AES-256, got {len(key)} bytes "
                         "(make one with `tappass vault new-key`)")
    return key


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


class Cipher:
    def __init__(self, key_text: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            key = check_vault_key(key_text)
        except ValueError as exc:
            raise VaultError(f"{KEY_VARIABLE}: {exc}") from None
        self._aead = AESGCM(key)
        # names the key without revealing it: tells a wrong key from a right one at start
        self.key_id = hmac.new(key, b"tappass-vault-key-id", hashlib.sha256).hexdigest()[:16]

    def seal(self, name: str, value: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), name.encode())
        return ".".join((_VERSION, base64.b64encode(nonce).decode(),
                         base64.b64encode(sealed).decode()))

    def open(self, name: str, sealed: str) -> str:
        from cryptography.exceptions import InvalidTag

        version, _, rest = sealed.partition(".")
        nonce_text, _, body_text = rest.partition(".")
        try:
            if version != _VERSION:
                raise ValueError(version)
            nonce = base64.b64decode(nonce_text, validate=True)
            body = base64.b64decode(body_text, validate=True)
            return self._aead.decrypt(nonce, body, name.encode()).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise VaultError(f"vault secret {name!r} does not decrypt: {KEY_VARIABLE} is not "
                             "the key it was stored under, or the stored value was altered"
                             ) from None
