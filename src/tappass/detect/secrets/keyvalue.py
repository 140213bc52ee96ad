"""Secrets found by the key they are assigned to: `password=`, `api_key:`, `"token": ...`.

Covers `.env` and shell (`export API_KEY=...`, `--password x`), YAML, JSON, INI/TOML,
code (`token = "..."`, `headers["X-Api-Key"] = "..."`, `setenv("SECRET", "...")`), URL
query strings, ADO.NET-style connection strings (`Password=...;`), `Authorization:` headers
and the `data:` / `stringData:` of Kubernetes Secrets. The key is found first (a keyword
search, cheap), then the value after it is judged: placeholders, references to variables,
identifiers, numbers and hashes are not secrets.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from tappass.detect.secrets.values import (
    entropy,
    is_hex,
    is_identifier,
    is_number,
    is_placeholder,
    is_uuid,
    looks_random,
)
from tappass.pipeline.step import Finding

_KEYWORD = (r"pass(?:word|wd|phrase|code)?s?(?![a-z])|pwd|secret|token(?!iz)|api[_-]?key|"
            r"apikey|access[_-]?key|"
            r"app[_-]?key|auth[_-]?key|private[_-]?key|signing[_-]?key|encryption[_-]?key|"
            r"master[_-]?key|account[_-]?key|client[_-]?secret|credentials?|"
            r"(?<![a-z])key(?![a-z])")
_AFTER_KEY = (r"(?P<close>[\"'`]?\]?)[ \t]*(?P<sep>:=|=>|\?=|=(?!=)|:(?![/:])|,|>|[ \t]+)"
              r"[ \t]*(?:(?:!!binary|!secret)[ \t]+)?")
_VALUE = (r"(?:\"(?P<dq>[^\"\n]{1,256})\"|'(?P<sq>[^'\n]{1,256})'|`(?P<bq>[^`\n]{1,256})`"
          r"|(?P<bare>[^\s\"'`,;&<>(){}\[\]]{1,256}))")
_AUTH = (r"(?i:authorization|x-api-key|x-auth-token|api-key|private-token)[\"']?[ \t]*[:=,]"
         r"[ \t]*[\"']?(?:(?i:bearer|token|basic)[ \t]+)?(?P<value>[A-Za-z0-9._~+/=-]{16,})")
_ENV_PAIR = (r"[\"']?name[\"']?[ \t]*:[ \t]*[\"']?(?P<key>[A-Za-z0-9_.-]{2,80})[\"']?[ \t]*"
             r"(?:,[ \t]*|\r?\n[ \t]*)[\"']?value[\"']?[ \t]*:[ \t]*")
_K8S_SECRET = r"(?m)^kind:[ \t]*Secret[ \t]*$"
_K8S_ENTRY = r"[ \t]+(?P<key>[A-Za-z0-9_.-]+):[ \t]*(?P<value>\S+)[ \t]*$"
_K8S_BLOCK = r"(?m)^(?P<section>data|stringData):[ \t]*$"

# key names that contain a keyword but do not hold a secret
_NOT_SECRET_SUFFIX = re.compile(
    r"(?i)[_.-]?(?:url|uri|endpoint|host|type|name|names|ref|path|file|dir|count|length|len|"
    r"size|limit|max|min|enabled|required|policy|format|field|expiry|expires|expiration|"
    r"ttl|timeout|header|prefix|hash|hashed|digest|mode|version|id|ids|kind|label|strategy|"
    r"provider|method|rotation|manager|store|checksum|algorithm|algo|usage|budget|env|var|"
    r"location|source|template|hint|policy|reset|length|sha|sha256|fingerprint)$")
_NOT_SECRET_PREFIX = re.compile(
    r"(?i)^(?:max|min|num|is|has|use|enable|disable|no|total|input|output|completion|"
    r"prompt|cached|reasoning|public|primary|foreign|sort|partition|cache|idempotency|"
    r"next|page|continuation|csrf|xsrf|sync|cursor)(?:[_.-]|$)")
_NOT_SECRET_KEYS = frozenset({
    "key", "keys", "token", "tokens", "tokenizer", "author", "authors", "authority",
    "authentication", "authenticated", "passed", "passes", "pass", "bypass",
    "passthrough", "keyword", "keywords", "keyboard", "keyframe", "keyframes", "hotkey",
    "primary_key", "public_key", "publickey", "monkey", "turkey", "donkey", "keycode",
    "key_id", "keyid", "access_key_id", "secret_name", "secretname", "secretref",
    "secretkeyref", "passenger", "compass", "password_confirmation",
})


@dataclass(frozen=True, slots=True)
class Compiled:
    keyword: re.Pattern[str]
    after_key: re.Pattern[str]
    value: re.Pattern[str]
    auth: re.Pattern[str]
    k8s_secret: re.Pattern[str]
    k8s_block: re.Pattern[str]
    k8s_entry: re.Pattern[str]
    env_pair: re.Pattern[str]


@cache
def compiled() -> Compiled:
    return Compiled(re.compile(rf"(?i:{_KEYWORD})"), re.compile(_AFTER_KEY), re.compile(_VALUE),
                    re.compile(_AUTH), re.compile(_K8S_SECRET), re.compile(_K8S_BLOCK),
                    re.compile(_K8S_ENTRY), re.compile(_ENV_PAIR))


_DIGIT = re.compile(r"\d")
_LOOK_BACK = 300   # characters searched back for the start of a line


def _line_start(text: str, pos: int) -> int:
    """Start of the line holding `pos`, looking back at most `_LOOK_BACK` characters."""
    floor = max(0, pos - _LOOK_BACK)
    return max(text.rfind("\n", floor, pos) + 1, floor)


def _key_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Extend a keyword match to the whole key (`AWS_SECRET_ACCESS_KEY`, `db.password`)."""
    floor, ceiling = max(0, start - 100), min(len(text), end + 100)  # keys are short
    while start > floor and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
        start -= 1
    while end < ceiling and (text[end].isalnum() or text[end] in "_.-"):
        end += 1
    return start, end


@lru_cache(maxsize=4096)
def _key_kind(key: str) -> str | None:
    """PASSWORD, a specific type, GENERIC_SECRET, or None when the key holds no secret."""
    lower = key.lower().lstrip("-_.")
    if lower == "auth":
        return "BASIC_AUTH"         # docker config.json: base64 of user:password
    if compiled().keyword.search(key) is None:
        return None
    if lower in _NOT_SECRET_KEYS or _NOT_SECRET_SUFFIX.search(lower) and not lower.endswith(
            ("secret_key", "_secret", "secretkey")):
        return None
    if _NOT_SECRET_PREFIX.match(lower):
        return None
    compact = lower.replace("_", "").replace("-", "").replace(".", "")
    if "aws" in compact and "secret" in compact or compact.endswith("secretaccesskey"):
        return "AWS_SECRET_KEY"
    if compact.startswith(("dd", "datadog")) and ("apikey" in compact or "appkey" in compact):
        return "DATADOG_API_KEY"
    if "twilio" in compact and "token" in compact:
        return "TWILIO_AUTH_TOKEN"
    if "pass" in compact or compact.endswith("pwd") or compact.startswith("pwd"):
        return "PASSWORD"
    return "GENERIC_SECRET"


def _value_span(match: re.Match[str]) -> tuple[str, int, int]:
    for group in ("dq", "sq", "bq", "bare"):
        value = match.group(group)
        if value is not None:
            return value, match.start(group), match.end(group)
    raise AssertionError("the value pattern always sets one group")


def _b64_text(value: str) -> bool:
    """Base64 of ordinary text (words and spaces), not of random bytes."""
    if len(value) < 12 or len(value) % 4:
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return False
    words = decoded.split()
    return len(words) >= 3 and all(w.isalpha() for w in words[:-1])


def _basic_credentials(value: str) -> bool:
    """Base64 of `user:password` with a password that is not a placeholder."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = decoded.partition(":")
    return bool(sep and user and password.isprintable()) and not is_placeholder(password) \
        and len(password) >= 4


def secret_value(value: str, kind: str) -> float | None:
    """The score of `value` assigned to a key of `kind`, or None for a look-alike."""
    value = value.strip()
    if len(value) < (6 if kind == "PASSWORD" else 10) or " " in value or "://" in value:
        return None
    if is_placeholder(value) or is_number(value) and kind != "PASSWORD" or is_uuid(value):
        return None
    if kind == "BASIC_AUTH":
        return 0.9 if _basic_credentials(value) else None
    if is_identifier(value) and not any(c.isdigit() for c in value):
        return None
    if _b64_text(value):
        return None
    if kind == "PASSWORD":
        varied = sum((value.upper() != value, value.lower() != value,
                      _DIGIT.search(value) is not None, not value.isalnum()))
        return 0.8 if varied >= 2 or len(value) >= 12 else None
    if kind == "AWS_SECRET_KEY" and len(value) == 40:
        return 0.95 if entropy(value) > 3.5 else None
    if is_hex(value) and len(value) in (40, 64, 128) and kind == "GENERIC_SECRET":
        return 0.6 if looks_random(value) else None  # could be a digest; weak alone
    return 0.85 if looks_random(value) else None


KEY_ROOTS = ("pass", "pwd", "secret", "token", "key", "cred", "auth")


def lowered(text: str) -> str:
    """`text` in lower case with the same offsets (unchanged if lowering would move them)."""
    lower = text.lower()
    return lower if len(lower) == len(text) else text


def _keyword_hits(lower: str) -> list[int]:
    """Where a key root occurs (in the lowered text): substring searches, no regex."""
    hits: list[int] = []
    for root in KEY_ROOTS:
        at = lower.find(root)
        while at >= 0:
            hits.append(at)
            at = lower.find(root, at + len(root))
    hits.sort()
    return hits


def assignments(text: str, lower: str, c: Compiled) -> Iterator[Finding]:
    """Findings for values assigned to secret-like keys (`lower`: `lowered(text)`)."""
    seen_end = -1
    for at in _keyword_hits(lower):
        if at < seen_end:
            continue
        start, end = _key_bounds(text, at, at + 1)
        seen_end = end
        if text[max(0, start - 2):start].endswith(("$", "${", "%(")):
            continue  # ${DB_PASSWORD:-...}, %(password)s: a reference, not an assignment
        kind = _key_kind(text[start:end])
        if kind is None:
            continue
        finding = _assigned(text, start, end, kind, c)
        if finding is not None:
            yield finding


def _assigned(text: str, key_start: int, key_end: int, kind: str,
              c: Compiled) -> Finding | None:
    after = c.after_key.match(text, key_end)
    if after is None:
        return None
    sep = after.group("sep")
    if sep.strip() in ("", ",", ">") and not _separator_allowed(text, key_start, sep):
        return None
    value_match = c.value.match(text, after.end())
    if value_match is None:
        return None
    value, start, end = _value_span(value_match)
    if value_match.group("bare") is not None and value.startswith(("*", "&", "!")):
        return None  # a YAML alias, anchor or tag
    score = secret_value(value, kind)
    if score is None:
        return None
    kind = _in_connection_string(text, key_start, kind)
    return Finding(kind, start, end, score, f"{_label(kind)} assigned to a secret-like key")


def env_pairs(text: str, c: Compiled) -> Iterator[Finding]:
    """`- name: DB_PASSWORD / value: ...` (Kubernetes, ECS, compose) and the JSON form."""
    if "value" not in text or "name" not in text:
        return
    for pair in c.env_pair.finditer(text):
        kind = _key_kind(pair.group("key"))
        if kind is None:
            continue
        value_match = c.value.match(text, pair.end())
        if value_match is None:
            continue
        value, start, end = _value_span(value_match)
        score = secret_value(value, kind)
        if score is not None:
            yield Finding(kind, start, end, score,
                          f"{_label(kind)} in a name/value environment entry")


def _separator_allowed(text: str, key_start: int, sep: str) -> bool:
    before = text[max(0, key_start - 2):key_start]
    if sep.strip() == "":                                # --password value, .netrc lines
        return text.startswith("-", key_start) or \
            text[_line_start(text, key_start):key_start].strip() == ""
    if sep == ",":
        return before.endswith(("\"", "'"))              # setenv("KEY", "value")
    return before.endswith("<")                          # <password>value</password>


def _in_connection_string(text: str, key_start: int, kind: str) -> str:
    if kind != "PASSWORD":
        return kind
    prefix = text[_line_start(text, key_start):key_start].lower()
    if "://" in prefix or ";" in prefix and ("server=" in prefix or "host=" in prefix
                                             or "data source=" in prefix):
        return "CONNECTION_STRING"
    return kind


def _label(kind: str) -> str:
    return {"PASSWORD": "password", "CONNECTION_STRING": "connection-string password",
            "AWS_SECRET_KEY": "AWS secret access key", "DATADOG_API_KEY": "Datadog key",
            "TWILIO_AUTH_TOKEN": "Twilio auth token",
            "BASIC_AUTH": "base64 user:password"}.get(kind, "high-entropy value")


def auth_headers(text: str, lower: str, c: Compiled) -> Iterator[Finding]:
    if "authoriz" not in lower and "-key" not in lower and "-token" not in lower:
        return
    for match in c.auth.finditer(text):
        value = match.group("value")
        if is_placeholder(value) or not looks_random(value.rstrip("=")):
            continue
        yield Finding("BEARER_TOKEN", match.start("value"), match.end("value"), 0.9,
                      "credential in an Authorization-style header")


def kubernetes_secrets(text: str, c: Compiled) -> Iterator[Finding]:
    """Values under `data:` (base64) and `stringData:` of a `kind: Secret` manifest."""
    if "Secret" not in text or c.k8s_secret.search(text) is None:
        return
    for block in c.k8s_block.finditer(text):
        encoded = block.group("section") == "data"
        for start, line in _indented_lines(text, block.end() + 1):
            entry = c.k8s_entry.match(line)
            if entry is None:
                continue
            value = entry.group("value")
            quoted = value[:1] in "\"'" and value[-1:] == value[:1] and len(value) > 1
            offset = start + entry.start("value") + (1 if quoted else 0)
            value = value[1:-1] if quoted else value
            if _k8s_secret_value(value, encoded):
                yield Finding("KUBERNETES_SECRET", offset, offset + len(value), 0.9,
                              "value in the data of a Kubernetes Secret")


def _indented_lines(text: str, pos: int) -> Iterator[tuple[int, str]]:
    """The lines from `pos` on while they are indented (a YAML block's entries)."""
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        if not line.startswith((" ", "\t")):
            return
        yield pos, line
        pos = end + 1


def _k8s_secret_value(value: str, encoded: bool) -> bool:
    if not encoded:
        return secret_value(value, "PASSWORD") is not None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return len(value) >= 16  # binary material (keys, certificates)
    return secret_value(decoded, "PASSWORD") is not None or "PRIVATE KEY" in decoded
