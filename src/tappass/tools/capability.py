"""Capability tokens: short-lived, Ed25519-signed proof that the gateway allowed one tool
call with these arguments.

A token is a compact JWS (EdDSA, PyJWT) whose claims name the agent, the tool, the SHA-256
of the canonical arguments, the argument values' constraints and the expiry. Anyone can
verify it offline with the public key at `/.well-known/jwks.json`; the decision API
refuses a token whose signature, expiry, agent, tool or arguments do not match.

The signing key comes from `TAPPASS_CAPABILITY_KEY` (a PEM Ed25519 private key) or is
generated once into `TAPPASS_HOME/capability_key.pem` with mode 0600.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tappass.errors import ConfigError
from tappass.keyfile import create_once

ISSUER = "tappass"
KEY_FILE = "capability_key.pem"
DEFAULT_TTL = 300.0


def arguments_hash(arguments: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_key(pem: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM text; ValueError saying what is wrong (no key text)."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("expected a PEM Ed25519 private key without a password "
                         "(openssl genpkey -algorithm ed25519)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("expected an Ed25519 private key, got another kind of key")
    return key


def _load_pem(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        return parse_key(pem.decode(errors="replace"))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}; remove the file to generate a new key") from None


def _generate(path: Path) -> Ed25519PrivateKey:
    """A new key written whole under `path` (0600); the existing one if another process won."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if not create_once(path, pem):   # another process's key won: use it
        return _load_pem(path.read_bytes(), str(path))
    return key


def load_key(home: Path, configured: str | None) -> Ed25519PrivateKey:
    if configured:
        try:
            return parse_key(configured)
        except ValueError as exc:
            raise ConfigError(f"TAPPASS_CAPABILITY_KEY: {exc}") from None
    path = home / KEY_FILE
    if path.exists():
        return _load_pem(path.read_bytes(), str(path))
    return _generate(path)


class CapabilityError(Exception):
    """A token that does not prove what it is presented for; the message says why."""


@dataclass(frozen=True, slots=True)
class Capability:
    agent_id: str
    tool: str
    arguments_sha256: str
    constraints: dict[str, Any]
    expires_at: float


class CapabilitySigner:
    def __init__(self, key: Ed25519PrivateKey, ttl: float = DEFAULT_TTL) -> None:
        self._key = key
        self._public = key.public_key()
        raw = self._public.public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
        self.kid = hashlib.sha256(raw).hexdigest()[:16]
        self._jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": self.kid,
                     "alg": "EdDSA", "use": "sig"}
        self.ttl = ttl

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._jwk]}

    def issue(self, agent_id: str, tool: str, arguments: dict[str, Any],
              constraints: dict[str, Any] | None = None, *, now: float | None = None) -> str:
        issued = time.time() if now is None else now
        claims = {"iss": ISSUER, "sub": agent_id, "iat": int(issued),
                  "exp": int(issued + self.ttl), "tool": tool,
                  "args_sha256": arguments_hash(arguments), "constraints": constraints or {}}
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def verify(self, token: str, *, agent_id: str, tool: str,
               arguments: dict[str, Any]) -> Capability:
        try:
            claims = jwt.decode(token, self._public, algorithms=["EdDSA"], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "tool"]})
        except jwt.ExpiredSignatureError:
            raise CapabilityError("capability token expired") from None
        except jwt.InvalidTokenError as exc:
            raise CapabilityError(f"capability token invalid: {exc}") from None
        if claims["sub"] != agent_id:
            raise CapabilityError("capability token was issued to another agent")
        if claims["tool"] != tool:
            raise CapabilityError(f"capability token is for tool {claims['tool']!r}, "
                                  f"not {tool!r}")
        if claims.get("args_sha256") != arguments_hash(arguments):
            raise CapabilityError(f"arguments differ from the ones the capability token for "
                                  f"{tool!r} allowed")
        return Capability(agent_id, tool, claims["args_sha256"],
                          dict(claims.get("constraints") or {}), float(claims["exp"]))
