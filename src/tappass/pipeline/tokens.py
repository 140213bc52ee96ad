"""Reversible PII tokens: their format, and restoring them in text and in streams.

A token is `[TOKEN_<TYPE>_<8 lowercase hex>]`, e.g. `[TOKEN_EMAIL_3f9a2c1d]`: TYPE is the
finding's type uppercased, every character outside A-Z and 0-9 written `_`, cut to
`MAX_TYPE_CHARS`. Everything here is pure: `pii_tokenization` mints the tokens and keeps
the mapping (see `tappass.pipeline.token_vault`), `pii_restore` and the streaming path
restore with a lookup it provides.

A stream restores chunk by chunk with `TokenStream`: each chunk's text is emitted except
the last `partial_token_suffix` characters, which could be the start of a token the next
chunk completes; they are held back and emitted (restored) with the next chunk or at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping

MAX_TYPE_CHARS = 32
HEX_CHARS = 8
_OPEN = "[TOKEN_"
MAX_TOKEN_CHARS = len(_OPEN) + MAX_TYPE_CHARS + 1 + HEX_CHARS + 1   # 49
TOKEN_RE = re.compile(rf"\[TOKEN_([A-Z0-9_]{{1,{MAX_TYPE_CHARS}}})_([0-9a-f]{{{HEX_CHARS}}})\]")
# what may follow "[TOKEN_" in an unfinished token: the type, then "_" and some hex
_UNFINISHED = re.compile(rf"[A-Z0-9_]{{0,{MAX_TYPE_CHARS}}}"
                         rf"|[A-Z0-9_]{{1,{MAX_TYPE_CHARS}}}_[0-9a-f]{{0,{HEX_CHARS}}}")
_NOT_TYPE = re.compile(r"[^A-Z0-9]")

# token -> original value (None: unknown); a mapping token -> value is accepted too
Lookup = Callable[[str], str | None] | Mapping[str, str]
Escape = Callable[[str], str]              # how a value is written where it goes back


def token_type(finding_type: str) -> str:
    """The TYPE part of a token for a finding type (`"credit-card"` -> `"CREDIT_CARD"`)."""
    return _NOT_TYPE.sub("_", finding_type.upper())[:MAX_TYPE_CHARS] or "PII"


def make_token(finding_type: str, hex8: str) -> str:
    if len(hex8) != HEX_CHARS or not re.fullmatch(r"[0-9a-f]+", hex8):
        raise ValueError(f"expected {HEX_CHARS} lowercase hex digits")
    return f"{_OPEN}{token_type(finding_type)}_{hex8}]"


def find_tokens(text: str) -> list[str]:
    """Every token in `text`, in order (duplicates kept)."""
    return [m.group(0) for m in TOKEN_RE.finditer(text)] if _OPEN in text else []


def restore_tokens(text: str, lookup: Lookup, escape: Escape | None = None) -> str:
    """`text` with every known token replaced by its value (`escape`d); unknown ones kept."""
    if _OPEN not in text:
        return text
    get = lookup.get if isinstance(lookup, Mapping) else lookup

    def replace(match: re.Match[str]) -> str:
        value = get(match.group(0))
        if value is None:
            return match.group(0)
        return escape(value) if escape is not None else value
    return TOKEN_RE.sub(replace, text)


def _could_start_token(piece: str) -> bool:
    if len(piece) <= len(_OPEN):
        return _OPEN.startswith(piece)
    return piece.startswith(_OPEN) and _UNFINISHED.fullmatch(piece, len(_OPEN)) is not None


def partial_token_suffix(text: str) -> int:
    """How many trailing characters of `text` could be the start of an unfinished token.

    0 when the text cannot end inside a token; never more than `MAX_TOKEN_CHARS - 1`."""
    floor = max(0, len(text) - (MAX_TOKEN_CHARS - 1))
    start = text.find("[", floor)
    while start != -1:          # the earliest "[" whose tail could still become a token
        if _could_start_token(text[start:]):
            return len(text) - start
        start = text.find("[", start + 1)
    return 0


class TokenStream:
    """Restores tokens in a sequence of text chunks, holding back what could be split.

        stream = TokenStream(lookup)
        for piece in pieces: send(stream.feed(piece))
        send(stream.flush())
    """

    __slots__ = ("_lookup", "_escape", "_held")

    def __init__(self, lookup: Lookup, escape: Escape | None = None) -> None:
        self._lookup = lookup
        self._escape = escape
        self._held = ""

    @property
    def held(self) -> str:
        """What is held back now (the start of a possible token)."""
        return self._held

    def feed(self, chunk: str) -> str:
        """The restored text that can be emitted now (possibly empty)."""
        text = self._held + chunk
        hold = partial_token_suffix(text)
        cut = len(text) - hold
        self._held = text[cut:]
        return restore_tokens(text[:cut], self._lookup, self._escape)

    def flush(self) -> str:
        """What is still held back, restored; the stream is empty afterwards."""
        text, self._held = self._held, ""
        return restore_tokens(text, self._lookup, self._escape)


def restore_chunks(chunks: Iterable[str], lookup: Lookup,
                   escape: Escape | None = None) -> Iterator[str]:
    """The chunks with tokens restored, a token split across chunks included."""
    stream = TokenStream(lookup, escape)
    for chunk in chunks:
        out = stream.feed(chunk)
        if out:
            yield out
    tail = stream.flush()
    if tail:
        yield tail
