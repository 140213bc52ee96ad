"""Secrets: provider tokens, private keys, JWTs, passwords in URLs and assignments.

`detect_secrets(text)` is the detector (a pure function, see `tappass.detect`); the modules
hold the provider rule table (`rules`), structural checks (`structured`), key-value
assignments (`keyvalue`) and the look-alike filters (`values`).
"""

from tappass.detect.secrets.detector import detect_secrets

__all__ = ["detect_secrets"]
