"""Text hidden in images: metadata chunks and SVG markup, read with the standard library.

`metadata_texts(raw)` returns the human-readable texts an image file carries besides its
pixels: PNG `tEXt`, `zTXt` and `iTXt` chunks, JPEG comments (COM), EXIF strings (APP1, ASCII
and UTF-16 XP* tags alike) and XMP packets, GIF comment extensions, and WebP EXIF / XMP
chunks. `svg_findings(raw)` reports what makes an SVG active: scripts, event handlers,
`foreignObject` (HTML inside the image), `javascript:` URLs and external references;
`svg_text` gives its text nodes. Pixels are not read: text drawn into an image needs OCR,
which this version does not do.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator

from tappass.pipeline.step import Finding

MAX_INFLATE = 1 << 20      # a zTXt / iTXt chunk inflates to at most 1 MiB
_PRINTABLE = re.compile(rb"[\x20-\x7e\t\n\r]{8,}")
_UTF16 = re.compile(rb"(?:[\x20-\x7e]\x00){8,}")
_TAGS = re.compile(r"<[^>]{0,2000}>")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        return inflater.decompress(data, MAX_INFLATE)
    except zlib.error:
        return b""


def _png(raw: bytes) -> Iterator[str]:
    at = 8
    while at + 12 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[at:at + 8])
        body = raw[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"tEXt":
            yield body.partition(b"\x00")[2].decode("latin-1")
        elif kind == b"zTXt":
            yield _inflate(body.partition(b"\x00")[2][1:]).decode("latin-1")
        elif kind == b"iTXt":
            _, _, rest = body.partition(b"\x00")
            compressed, rest = rest[:1] == b"\x01", rest[2:]
            _, _, rest = rest.partition(b"\x00")     # language tag
            _, _, text = rest.partition(b"\x00")     # translated keyword
            yield (_inflate(text) if compressed else text).decode("utf-8", "replace")
        elif kind == b"IEND":
            return


def _strings(data: bytes) -> Iterator[str]:
    """Readable runs in binary metadata (EXIF): ASCII and UTF-16-LE."""
    for match in _PRINTABLE.finditer(data):
        yield match.group(0).decode("ascii")
    for match in _UTF16.finditer(data):
        yield match.group(0).decode("utf-16-le")


def _xmp(data: bytes) -> str:
    return _TAGS.sub(" ", data.decode("utf-8", "replace"))


def _jpeg(raw: bytes) -> Iterator[str]:
    at = 2
    while at + 4 <= len(raw) and raw[at] == 0xFF:
        marker = raw[at + 1]
        if marker in (0xD9, 0xDA):        # end of image, start of scan: no more metadata
            return
        length = struct.unpack(">H", raw[at + 2:at + 4])[0]
        body = raw[at + 4:at + 2 + length]
        at += 2 + length
        if marker == 0xFE:
            yield body.decode("utf-8", "replace")
        elif marker == 0xE1 and body.startswith(b"Exif\x00"):
            yield from _strings(body[6:])
        elif marker == 0xE1 and (b"ns.adobe.com/xap" in body[:64] or b"<x:xmpmeta" in body[:400]):
            yield _xmp(body)


def _gif(raw: bytes) -> Iterator[str]:
    at = raw.find(b"\x21\xfe")
    while at >= 0:
        at += 2
        out = bytearray()
        while at < len(raw) and raw[at]:
            size = raw[at]
            out += raw[at + 1:at + 1 + size]
            at += 1 + size
        yield out.decode("latin-1")
        at = raw.find(b"\x21\xfe", at)


def _webp(raw: bytes) -> Iterator[str]:
    at = 12
    while at + 8 <= len(raw):
        kind, length = struct.unpack("<4sI", raw[at:at + 8])
        body = raw[at + 8:at + 8 + length]
        at += 8 + length + (length & 1)
        if kind == b"EXIF":
            yield from _strings(body)
        elif kind == b"XMP ":
            yield _xmp(body)


def metadata_texts(raw: bytes, media_type: str | None) -> list[str]:
    """The texts stored in an image's metadata (stripped, non-empty)."""
    reader = {"image/png": _png, "image/jpeg": _jpeg, "image/gif": _gif,
              "image/webp": _webp}.get(media_type or "")
    if reader is None:
        return []
    try:
        return [t.strip() for t in reader(raw) if t.strip()]
    except (struct.error, IndexError, ValueError):
        return []


_SVG_RULES = (
    ("svg_script", re.compile(r"<\s*script\b", re.I), 0.95, "an SVG with a script"),
    ("svg_event_handler", re.compile(r"\son[a-z]+\s*=", re.I), 0.9,
     "an SVG with an event handler (onload, onclick, ...)"),
    ("svg_script", re.compile(r"(?:href|src)\s*=\s*[\"']?\s*javascript:", re.I), 0.95,
     "an SVG with a javascript: URL"),
    ("svg_foreign_object", re.compile(r"<\s*foreignObject\b", re.I), 0.8,
     "an SVG embedding HTML (foreignObject)"),
    ("svg_external_reference",
     re.compile(r"(?:xlink:)?href\s*=\s*[\"']\s*(?:https?:|//|file:)|<!ENTITY[^>]+SYSTEM", re.I),
     0.7, "an SVG loading an external resource"),
)


def svg_findings(raw: bytes) -> list[Finding]:
    text = raw.decode("utf-8", "replace")
    out: list[Finding] = []
    for kind, pattern, score, why in _SVG_RULES:
        match = pattern.search(text)
        if match:
            out.append(Finding(kind, None, None, score, why))
    return out


def svg_text(raw: bytes) -> str:
    """The text an SVG holds in its text nodes (markup and comments dropped)."""
    return " ".join(_TAGS.sub(" ", raw.decode("utf-8", "replace")).split())
