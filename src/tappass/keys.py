"""API keys: generation, hashing and constant-time verification.

Keys are 256-bit random tokens, so one SHA-256 is a sound stored form (a slow password
hash buys nothing against a key that cannot be guessed, and would cost every request).
The first characters form a public prefix used to find the record; the full hash is then
compared with `hmac.compare_digest`. A prefix that finds no record is compared against
`UNKNOWN_KEY_HASH` all the same, so an unknown prefix costs what a wrong secret costs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

AGENT_PREFIX = "tp_"
ADMIN_PREFIX = "tp_admin_"
LOOKUP_CHARS = 12
# the hash of no key: what an unknown prefix is compared with (nothing hashes to it)
UNKNOWN_KEY_HASH = "0" * 64


def generate_agent_key() -> str:
    return AGENT_PREFIX + secrets.token_urlsafe(32)


def generate_admin_key() -> str:
    return ADMIN_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lookup_prefix(key: str) -> str:
    return key[:LOOKUP_CHARS]


def matches(key: str, stored_hash: str) -> bool:
    return digest_matches(hash_key(key), stored_hash)


def digest_matches(digest: str, stored_hash: str | None) -> bool:
    """Constant-time check of a key's digest; `None` (no record) compares with a dummy."""
    expected = UNKNOWN_KEY_HASH if stored_hash is None else stored_hash
    return hmac.compare_digest(digest, expected) and stored_hash is not None


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
