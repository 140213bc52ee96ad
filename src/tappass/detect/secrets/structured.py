"""Secrets recognised by their structure: PEM private keys, JWTs, URLs with passwords.

Each function takes the compiled patterns and the text and yields findings; each checks
more than the regex can (a JWT's header must decode to JSON with an `alg`, a key block
must have a real body, a URL's password must not be a placeholder).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from functools import cache

import orjson

from tappass.detect.secrets.values import DOC_EXAMPLES, is_placeholder
from tappass.pipeline.step import Finding

_PEM = (r"-----BEGIN (?P<kind>(?:[A-Z0-9]+ ){0,3})PRIVATE KEY(?: BLOCK)?-----"
        r"(?P<body>(?:[^-]|-(?!----(?:END|BEGIN))){0,12000}?)"
        r"(?:-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----|$)")
_JWT = (r"(?<![A-Za-z0-9_-])(?P<header>eyJ[A-Za-z0-9_-]{10,})\.(?P<payload>[A-Za-z0-9_-]{4,})"
        r"\.(?P<sig>[A-Za-z0-9_-]{16,})(?![A-Za-z0-9_-])")
# what follows `scheme://`; the scheme is read backwards from each `://` (a regex led by the
# scheme would be tried at every position of the text)
_URL_AUTHORITY = (r"(?P<user>[^:/?#\s@\"'`<>]{0,128}):(?P<password>[^@/?#\s\"'`<>]{1,256})@"
                  r"(?P<host>[A-Za-z0-9.\[\]:_-]{1,253})")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_B64_BODY = re.compile(r"[A-Za-z0-9+/=]")

_WEB = frozenset({"http", "https", "ws", "wss", "ftp", "ftps", "sftp"})
_KEY_TYPES = {"RSA ": "RSA", "EC ": "EC", "DSA ": "DSA", "OPENSSH ": "OpenSSH",
              "ENCRYPTED ": "encrypted", "PGP ": "PGP"}


_PEM_LONGEST = 12_200  # characters of the longest block `_PEM` reads, markers included


def unfinished_block(text: str) -> int:
    """Where a PEM block that has begun but not ended starts; `len(text)` when there is none.

    A stream holds such a block back until its END line arrives (or it has grown longer
    than any block the detector reads), so no part of a key passes before it is judged.
    """
    begin = text.rfind("-----BEGIN ")
    if begin < 0 or "-----END " in text[begin:] or len(text) - begin > _PEM_LONGEST:
        return len(text)
    return begin


@cache
def patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    return re.compile(_PEM), re.compile(_JWT), re.compile(_URL_AUTHORITY)


def private_keys(text: str) -> Iterator[Finding]:
    if "PRIVATE KEY" not in text:
        return
    for match in patterns()[0].finditer(text):
        body = match.group("body").replace("\\n", "")
        if len(_B64_BODY.findall(body)) < 64 or _elided(body):
            continue
        if _service_account(text):
            yield Finding("GCP_SERVICE_ACCOUNT_KEY", match.start(), match.end(), 0.99,
                          "private key of a Google Cloud service account")
            continue
        kind = _KEY_TYPES.get(match.group("kind"), "")
        yield Finding("PRIVATE_KEY", match.start(), match.end(), 0.99,
                      f"{kind + ' ' if kind else ''}private key block (PEM)")


def _elided(body: str) -> bool:
    """A key shown in documentation with its body cut (`...`, `<key>`, `xxxx`)."""
    return "..." in body or "…" in body or "<" in body or "xxxx" in body.lower()


def _service_account(text: str) -> bool:
    return "service_account" in text or "iam.gserviceaccount.com" in text


def _b64_json(part: str) -> object:
    try:
        return orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None


def jwts(text: str) -> Iterator[Finding]:
    if "eyJ" not in text:
        return
    for match in patterns()[1].finditer(text):
        header = _b64_json(match.group("header"))
        if not isinstance(header, dict) or "alg" not in header:
            continue
        if match.group("sig") in DOC_EXAMPLES:
            continue
        payload = _b64_json(match.group("payload"))
        score = 0.97 if isinstance(payload, dict) else 0.8
        yield Finding("JWT", match.start(), match.end(), score,
                      f"JSON Web Token (header decodes, alg {str(header['alg'])[:10]})")


def _scheme_before(text: str, at: int) -> str:
    start = at
    while start > 0 and at - start < 25 and text[start - 1] in _SCHEME_CHARS:
        start -= 1
    scheme = text[start:at]
    return scheme if scheme[:1].isalpha() else ""


def url_passwords(text: str) -> Iterator[Finding]:
    at = text.find("://")
    while at >= 0:
        scheme = _scheme_before(text, at).lower()
        match = patterns()[2].match(text, at + 3) if scheme else None
        at = text.find("://", at + 3)
        if match is None:
            continue
        password = match.group("password")
        if is_placeholder(password) or password.lower() in ("pass", "pwd", "passwd", "pw"):
            continue
        if password.isdigit() and not match.group("user"):
            continue  # host:port@ is not a credential
        kind, what = (("URL_WITH_PASSWORD", "URL with an embedded password") if scheme in _WEB
                      else ("CONNECTION_STRING", f"{scheme} connection string with a password"))
        yield Finding(kind, match.start("password"), match.end("password"), 0.95, what)
