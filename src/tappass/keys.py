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
import os
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


ID_BYTES = 12        # random bytes of an id (24 hex characters)
IDS_PER_READ = 256   # ids' random bytes read from the OS at once


_random_parts: list[bytes] = []  # ready random parts of ids, from os.urandom


def new_id(prefix: str) -> str:
    """`prefix_` and 12 random bytes in hex. Every request takes two (its audit id and
    session), so the OS's random bytes are read for 256 ids at a time: one getrandom()
    syscall instead of one per id; the bytes are the same CSPRNG output."""
    try:
        part = _random_parts.pop()
    except IndexError:
        block = os.urandom(ID_BYTES * IDS_PER_READ)
        _random_parts.extend(block[i:i + ID_BYTES] for i in range(0, len(block), ID_BYTES))
        part = _random_parts.pop()
    return f"{prefix}_{part.hex()}"


def forget_random_parts() -> None:
    """A forked child must never hand out the ids its parent will: start from new bytes."""
    _random_parts.clear()


os.register_at_fork(after_in_child=forget_random_parts)
