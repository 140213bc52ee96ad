"""Image, audio and file parts of chat messages, and what their bytes really are.

`media_parts(messages)` lists every non-text part: OpenAI `image_url` (a data: URL or a
remote URL), `input_audio` (base64 and a format), `file` (`file_data` as a data: URL or
bare base64, or a `file_id`), and Anthropic-shaped `image` / `document` blocks (base64 or
URL sources) should a client send them through. `inspect_payload` checks a part's bytes:
valid base64, the size, and the type its magic bytes announce against the declared one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac",
                "ogg": "audio/ogg", "webm": "audio/webm", "m4a": "audio/mp4",
                "pcm16": "audio/pcm"}
_URLSAFE = str.maketrans("-_", "+/")
_ALIASES = {"image/jpg": "image/jpeg", "audio/x-wav": "audio/wav", "audio/wave": "audio/wav",
            "audio/mp3": "audio/mpeg"}


@dataclass(frozen=True, slots=True)
class MediaPart:
    where: str                  # messages[1].content[2]
    role: str
    kind: str                   # image | audio | file
    declared_type: str | None   # from the data: URL, the format or the media_type
    url: str | None = None      # a remote URL (http, https, ...)
    data: str | None = None     # base64 payload
    reference: str | None = None  # a provider file id

    @property
    def remote(self) -> bool:
        return self.url is not None


def canonical_type(mime: str | None) -> str | None:
    if not mime:
        return None
    value = mime.split(";", 1)[0].strip().lower()
    return _ALIASES.get(value, value)


def parse_data_url(url: str) -> tuple[str | None, bool, str] | None:
    """(media type, base64?, payload) of a data: URL, or None if `url` is not one."""
    if not url[:5].lower() == "data:":
        return None
    header, sep, payload = url[5:].partition(",")
    if not sep:
        return "", False, ""
    fields = header.split(";")
    return canonical_type(fields[0]) or None, "base64" in (f.lower() for f in fields[1:]), payload


def _from_url(where: str, role: str, kind: str, url: str) -> MediaPart:
    parsed = parse_data_url(url)
    if parsed is None:
        return MediaPart(where, role, kind, None, url=url)
    mime, _, payload = parsed
    return MediaPart(where, role, kind, mime, data=payload)


def _part(where: str, role: str, part: dict[str, Any]) -> MediaPart | None:
    kind = part.get("type")
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return _from_url(where, role, "image", url) if isinstance(url, str) else None
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        fmt = str(audio.get("format", "")).lower()
        return MediaPart(where, role, "audio", _AUDIO_TYPES.get(fmt, f"audio/{fmt}"),
                         data=str(audio.get("data", "")))
    if kind == "file":
        file = part.get("file") or {}
        if isinstance(file.get("file_data"), str):
            found = _from_url(where, role, "file", file["file_data"])
            if found.url is not None:   # bare base64, not a URL
                return MediaPart(where, role, "file", None, data=file["file_data"])
            return found
        return MediaPart(where, role, "file", None, reference=str(file.get("file_id", "")))
    if kind in ("image", "document"):
        source = part.get("source") or {}
        media = "image" if kind == "image" else "file"
        if source.get("type") == "base64":
            return MediaPart(where, role, media, canonical_type(source.get("media_type")),
                             data=str(source.get("data", "")))
        if isinstance(source.get("url"), str):
            return _from_url(where, role, media, source["url"])
        return MediaPart(where, role, media, None, reference=str(source.get("file_id", "")))
    return None


def media_parts(messages: list[dict[str, Any]]) -> Iterator[MediaPart]:
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        role = str(message.get("role", ""))
        for j, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") != "text":
                found = _part(f"messages[{i}].content[{j}]", role, part)
                if found is not None:
                    yield found


def decode(data: str) -> bytes | None:
    """The bytes of a base64 payload (standard or URL-safe alphabet), or None if invalid."""
    compact = "".join(data.split()).translate(_URLSAFE).rstrip("=")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def decoded_size(data: str) -> int:
    """The size in bytes `data` decodes to, without decoding it."""
    length = len(data) - data.count("\n") - data.count("\r")
    return length * 3 // 4 - data[-2:].count("=")


def sniff(raw: bytes) -> str | None:
    """The media type announced by the first bytes, if recognised."""
    head = raw[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return "audio/mpeg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    if head.startswith((b"MZ", b"\x7fELF")):
        return "application/x-executable"
    text = raw[:512].lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith((b"<?xml", b"<!doctype svg", b"<!--"))
                                    and b"<svg" in raw[:4096].lower()):
        return "image/svg+xml"
    return None
