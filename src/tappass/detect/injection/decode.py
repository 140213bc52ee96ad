"""Encoded payloads: text hidden as base64, hex, URL-encoding, rot13, leetspeak, spaced-out
letters, Morse code, regional-indicator letters or Unicode tag characters, decoded so the
detector can scan it again.

Each decoder is cheap to reject: it looks for its encoding's shape first and decodes only
candidates, and keeps a result only when it is readable text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

MIN_DECODED = 8          # shorter decoded strings carry no instruction worth rescanning
MAX_CANDIDATES = 20      # per encoding and text: bounded work on adversarial input

LONG_TOKEN = 16         # characters: shorter tokens are never decoded
_LONG_TOKEN = re.compile(r"[^\s|`'\"()<>\[\]{}]{" + str(LONG_TOKEN) + ",}")
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_HEX_TOKEN = re.compile(r"(?:(?:\\x)?[0-9a-fA-F]{2}){8,}")
_LEET_WORD = re.compile(r"[a-z][013457@$]+[a-z]")
_LEET_CHAR = re.compile(r"[013457@$]")
_SPACED = re.compile(r"(?<!\S)(?:[^\W_]\s){5,}[^\W_](?!\S)")
# every `_SPACED` run has two spaced letters after a whitespace (its 2nd and 3rd letters)
_SPACED_HINT = re.compile(r"\s[^\W_]\s[^\W_]\s")
_MORSE_RUN = re.compile(r"(?:[.\-]{1,7}[ /]+){8,}[.\-]{1,7}")
_MORSE = dict(zip(
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- "
    ".-- -..- -.-- --.. ----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----.".split(),
    "abcdefghijklmnopqrstuvwxyz0123456789", strict=True))
_LEET = str.maketrans("013457@$", "oieastas")
# words that say "this is an instruction": rot13 is decoded only when one of them appears
# encoded, and spaced-out letters (which lose word breaks) are judged on them
INSTRUCTION_WORDS = ("ignore", "instruction", "previous", "system prompt", "disregard",
                     "forget", "pretend", "jailbreak", "you are")

_ROT13_WORDS = tuple(codecs.encode(word, "rot13") for word in INSTRUCTION_WORDS)


@dataclass(frozen=True, slots=True)
class Decoded:
    encoding: str
    start: int
    end: int
    text: str


def _readable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < MIN_DECODED:
        return None
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    letters = sum(ch.isalpha() for ch in text)
    if printable < 0.95 * len(text) or letters < 0.5 * len(text) or " " not in text:
        return None
    return text


def _decode_token(token: str) -> tuple[str, str] | None:
    """(encoding, decoded text) for one long token that is base64, hex or URL-encoded."""
    if "%" in token:
        decoded = unquote(token)
        return ("url", decoded) if decoded != token and len(decoded) >= MIN_DECODED else None
    if _HEX_TOKEN.fullmatch(token):
        digits = token.replace("\\x", "")
        text = _readable(bytes.fromhex(digits[: len(digits) // 2 * 2]))
        return ("hex", text) if text is not None else None
    if token.isalpha() and (token.islower() or token.isupper()):
        return None   # a long plain word, not base64
    if not _BASE64_TOKEN.fullmatch(token):
        return None
    body = token.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    text = _readable(raw)
    return ("base64", text) if text is not None else None


def _tokens(text: str) -> Iterator[Decoded]:
    """base64, hex and URL-encoded payloads: one pass over the long tokens of the text."""
    if max(map(len, text.split()), default=0) < LONG_TOKEN:
        return   # a long token lies inside one whitespace-separated word: none is that long
    for n, match in enumerate(_LONG_TOKEN.finditer(text)):
        if n >= MAX_CANDIDATES:
            return
        found = _decode_token(match.group())
        if found is not None:
            yield Decoded(found[0], match.start(), match.end(), found[1])


def _rot13(text: str) -> Iterator[Decoded]:
    lowered = text.lower()
    # the instruction words as they read once rot13-encoded: decode only when one is there
    if any(word in lowered for word in _ROT13_WORDS):
        yield Decoded("rot13", 0, len(text), codecs.encode(text, "rot13"))


def _leet(text: str) -> Iterator[Decoded]:
    if _LEET_CHAR.search(text) is None:   # no digit or sign that stands for a letter
        return
    if len(_LEET_WORD.findall(text.lower())) >= 2:
        yield Decoded("leetspeak", 0, len(text), text.translate(_LEET))


def _spaced(text: str) -> Iterator[Decoded]:
    if _SPACED_HINT.search(text) is None:
        return
    for n, match in enumerate(_SPACED.finditer(text)):
        if n >= MAX_CANDIDATES:
            return
        yield Decoded("spaced", match.start(), match.end(), re.sub(r"\s", "", match.group()))


def _morse(text: str) -> Iterator[Decoded]:
    if ".-" not in text and "-." not in text:
        return
    for n, match in enumerate(_MORSE_RUN.finditer(text)):
        if n >= MAX_CANDIDATES:
            return
        words = [
            "".join(_MORSE.get(code, "") for code in word.split())
            for word in re.split(r"\s{2,}|\s/\s", match.group())]
        decoded = " ".join(w for w in words if w)
        if len(decoded) >= MIN_DECODED:
            yield Decoded("morse", match.start(), match.end(), decoded.lower())


_REGIONAL = re.compile("[\U0001f1e6-\U0001f1ff]")
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
_FROM_TAGS = {code: code - 0xE0000 for code in range(0xE0020, 0xE007F)}


def _regional(text: str) -> Iterator[Decoded]:
    if text.isascii() or _REGIONAL.search(text) is None:
        return
    letters = [chr(ord(ch) - 0x1F1E6 + ord("a")) if "\U0001f1e6" <= ch <= "\U0001f1ff" else
               (" " if ch.isspace() else "") for ch in text]
    decoded = re.sub(r"\s+", " ", "".join(letters)).strip()
    if sum(c.isalpha() for c in decoded) >= MIN_DECODED:
        yield Decoded("regional_indicators", 0, len(text), decoded)


def tag_payload(original: str) -> str | None:
    """Text hidden in Unicode tag characters (U+E0020..U+E007E map to ASCII), if any.

    Call it on the text as the client sent it: normalisation drops these characters."""
    if original.isascii():
        return None
    hidden = "".join(_TAGS.findall(original)).translate(_FROM_TAGS)
    return hidden if len(hidden) >= MIN_DECODED else None


DECODERS = (_tokens, _rot13, _leet, _spaced, _morse, _regional)


def decoded_payloads(text: str) -> Iterator[Decoded]:
    """Every encoded payload found in `text`, decoded."""
    for decoder in DECODERS:
        yield from decoder(text)
    hidden = tag_payload(text)
    if hidden is not None:
        yield Decoded("unicode_tags", 0, len(text), hidden)
