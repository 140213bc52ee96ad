"""Is a candidate value a real secret or a look-alike (placeholder, reference, example)?

Real tokens are random: high character entropy, mixed character classes, no long runs or
counting sequences. Documentation and templates are full of values that have a token's
shape but none of that (`<YOUR_API_KEY>`, `sk-...`, `xxxx`, `${VAR}`, `changeme`,
AKIAIOSFODNN7EXAMPLE); those are never findings.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import cache

# values published in provider documentation as examples
DOC_EXAMPLES = frozenset({
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",   # jwt.io's example signature
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",              # Stripe's documentation test key
})

_PLACEHOLDER_WORDS = (
    "example", "placeholder", "changeme", "change_me", "change-me", "redacted", "dummy",
    "your_", "your-", "yourkey", "yourtoken", "yoursecret", "yourpassword", "insert",
    "replace", "xxxx", "****", "...", "…", "<", ">", "${", "{{", "}}", "$(", "%(", "%s",
    "fake", "sample", "mysecret", "secret123", "password123", "notreal", "not_real",
    "enter_", "put_your", "abcdefgh", "12345678", "qwerty",
)
_WORD_VALUES = frozenset({
    "password", "passwd", "secret", "token", "apikey", "api_key", "none", "null", "nil",
    "true", "false", "undefined", "empty", "required", "optional", "string", "str",
    "bearer", "basic", "default", "hidden", "masked", "unset", "n/a", "na", "test",
    "admin", "root", "user", "guest", "letmein", "secretkey", "mypassword", "todo", "tbd",
    "fixme",
})
_REFERENCE_PREFIXES = (
    "$", "%", "@", "os.", "process.env", "env.", "env(", "getenv", "config.", "settings.",
    "self.", "this.", "secrets.", "vault:", "ref+", "arn:", "{", "enc[",
)
# one word of an identifier: lower, UPPER, Capitalised or camelCase with real humps
_WORD = r"(?:[a-z]+(?:[A-Z][a-z]{2,})*|[A-Z][a-z]+(?:[A-Z][a-z]{2,})*|[A-Z0-9]+)"
_IDENTIFIER = re.compile(rf"{_WORD}(?:[_.-]{_WORD})*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Za-z]")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*")


def has_run(value: str) -> bool:
    """Five identical characters in a row (`xxxxx`, `*****`), or eight identical digits.

    Substring checks per distinct character: a backreference regex is several times slower.
    """
    return any(char * (8 if char.isdigit() else 5) in value for char in set(value))


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_placeholder(value: str) -> bool:
    """Template, documentation or reference values with a secret's shape but no secret."""
    if value in DOC_EXAMPLES or any(example in value for example in DOC_EXAMPLES):
        return True
    lower = value.lower()
    if lower in _WORD_VALUES or lower.startswith(_REFERENCE_PREFIXES):
        return True
    # a long random value contains short words by chance; only short values are judged by them
    if len(value) <= 100 and any(word in lower for word in _PLACEHOLDER_WORDS):
        return True
    return has_run(value)


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def is_hex(value: str) -> bool:
    return _HEX.fullmatch(value) is not None


def is_number(value: str) -> bool:
    return _NUMBER.fullmatch(value) is not None


def is_identifier(value: str) -> bool:
    """Words joined like code identifiers (`user_password`, `getToken`, `API_KEY`)."""
    return _IDENTIFIER.fullmatch(value) is not None


@cache
def _min_entropy(length: int) -> float:
    # a random string over an alphabet of >= 16 symbols reaches about log2(min(len, 16))
    return min(3.0, math.log2(max(length, 2)) * 0.72)


def looks_random(body: str) -> bool:
    """The random part of a token: long enough, varied enough, not a pattern."""
    if len(body) < 8 or has_run(body):
        return False
    if entropy(body) < _min_entropy(len(body)):
        return False
    has_digit = _DIGIT.search(body) is not None
    if is_hex(body):
        return has_digit and _LETTER.search(body) is not None
    return (body.upper() != body) + (body.lower() != body) + has_digit >= 2
