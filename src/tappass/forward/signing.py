"""Signatures on alert webhook deliveries.

Each delivery carries

    X-TapPass-Timestamp: <unix seconds when it was sent>
    X-TapPass-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>

where `body` is the exact bytes of the request body and `secret` the webhook's signing
secret (`whsec_...`, shown once when the webhook is created). A receiver recomputes the
HMAC, compares it in constant time, and refuses a timestamp more than REPLAY_WINDOW
seconds away from its clock, so a captured delivery cannot be replayed later. Every
attempt is signed afresh (a retry has a new timestamp); `X-TapPass-Delivery` (the alert
id) stays the same across retries, for de-duplication.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

TIMESTAMP_HEADER = "X-TapPass-Timestamp"
SIGNATURE_HEADER = "X-TapPass-Signature"
REPLAY_WINDOW = 300
SCHEME = "v1"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def sign(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers for a delivery of `body` sent now."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, body: bytes, timestamp: str, sig: str, *,
           now: float | None = None, window: int = REPLAY_WINDOW) -> bool:
    """What a receiver does (also the reference the docs show)."""
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > window:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), sig)
