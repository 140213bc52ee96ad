"""Webhook signatures: the documented scheme, the replay window, constant-time compare."""

from __future__ import annotations

import hashlib
import hmac

from tappass.forward import signing


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    headers = signing.sign("whsec_k", b'{"a":1}', now=1_800_000_000)
    assert headers["X-TapPass-Timestamp"] == "1800000000"
    expected = hmac.new(b"whsec_k", b'1800000000.{"a":1}', hashlib.sha256).hexdigest()
    assert headers["X-TapPass-Signature"] == f"v1={expected}"


def test_verify_accepts_within_the_window_and_refuses_outside_or_tampered() -> None:
    h = signing.sign("whsec_k", b"body", now=1000)
    ts, sig = h["X-TapPass-Timestamp"], h["X-TapPass-Signature"]
    assert signing.verify("whsec_k", b"body", ts, sig, now=1000 + 299)
    assert not signing.verify("whsec_k", b"body", ts, sig, now=1000 + 301)   # replayed later
    assert not signing.verify("whsec_k", b"bodx", ts, sig, now=1000)
    assert not signing.verify("whsec_other", b"body", ts, sig, now=1000)
    assert not signing.verify("whsec_k", b"body", "10x", sig, now=1000)


def test_secrets_are_random_and_prefixed() -> None:
    one, two = signing.new_secret(), signing.new_secret()
    assert one.startswith("whsec_") and one != two and len(one) > 40
