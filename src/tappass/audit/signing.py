"""The Ed25519 key that signs audit checkpoints, and its public half for verifiers.

The key comes from `TAPPASS_AUDIT_SIGNING_KEY` (a PEM private key, or base64 of its 32
raw bytes) or is generated once into `TAPPASS_HOME/audit_signing_key.pem` with mode 0600.
Every worker of a gateway loads the same key. The public key is served at
`GET /v1/audit/pubkey` and printed by `tappass audit pubkey`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from tappass.audit.chain import checkpoint_message
from tappass.errors import ConfigError
from tappass.keyfile import create_once

KEY_FILE = "audit_signing_key.pem"
SETTING = "TAPPASS_AUDIT_SIGNING_KEY"
_PRIVATE_HINT = ("expected a PEM Ed25519 private key (openssl genpkey -algorithm ed25519) "
                 "or base64 of its 32 raw bytes")
_PUBLIC_HINT = "expected a PEM Ed25519 public key or base64 of its 32 raw bytes"


def parse_signing_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM or base64 text; ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError(_PRIVATE_HINT) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("expected an Ed25519 private key, got another kind of key")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw32(text, _PRIVATE_HINT))


def parse_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM or base64 text; ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError):
            raise ValueError(_PUBLIC_HINT) from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("expected an Ed25519 public key, got another kind of key")
        return key
    return Ed25519PublicKey.from_public_bytes(_raw32(text, _PUBLIC_HINT))


def _raw32(text: str, hint: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(hint) from None
    if len(raw) != 32:
        raise ValueError(f"{hint}; the base64 text decodes to {len(raw)} bytes")
    return raw


def load_signing_key(home: Path, configured: str | None) -> Ed25519PrivateKey:
    if configured:
        try:
            return parse_signing_key(configured)
        except ValueError as exc:
            raise ConfigError(f"{SETTING}: {exc}") from None
    path = home / KEY_FILE
    if path.exists():
        return _read(path)
    return _generate(path)


def _read(path: Path) -> Ed25519PrivateKey:
    try:
        return parse_signing_key(path.read_text(errors="replace"))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}; the audit checkpoints already written need this "
                          f"key's public half to verify: restore the file") from None


def _generate(path: Path) -> Ed25519PrivateKey:
    """A new key written whole under `path` (0600); the existing one if another worker won."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if not create_once(path, pem):   # another worker's key won: use it
        return _read(path)
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key: names the key in `chain.key`."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class CheckpointSigner:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key()
        self.key_id = key_id(self.public_key)

    def sign(self, writer: str, seq: int, chain_hash: str) -> tuple[str, str]:
        """(base64 signature, key id) of a checkpoint at this chain head."""
        return _b64(self._key.sign(checkpoint_message(writer, seq, chain_hash))), self.key_id

    def public_info(self) -> dict[str, str]:
        raw = self.public_key.public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
        return {"algorithm": "Ed25519", "key_id": self.key_id,
                "public_key_pem": public_pem(self.public_key), "public_key_base64": _b64(raw)}


def verify_checkpoint(key: Ed25519PublicKey, writer: str, seq: int, chain_hash: str,
                      signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True),
                   checkpoint_message(writer, seq, chain_hash))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
