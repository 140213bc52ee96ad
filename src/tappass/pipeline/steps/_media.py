"""The decoded bytes of a request's media parts, decoded once per request.

detect_multimodal_content and inspect_images both read the bytes of base64 parts; the
first to ask decodes a part and the other reuses it (ctx.state, per request). Parts larger
than the caller's limit are not decoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tappass.detect.threats.media import MediaPart, decode, decoded_size

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

_KEY = "media_bytes"
INVALID = b""     # what a part that is not valid base64 decodes to here


def part_bytes(ctx: Context, part: MediaPart, limit: int) -> bytes | None:
    """The part's bytes; None if it has none or exceeds `limit`; INVALID if not base64."""
    if part.data is None or decoded_size(part.data) > limit:
        return None
    cache: dict[str, bytes] = ctx.state.setdefault(_KEY, {})
    raw = cache.get(part.where)
    if raw is None:
        raw = cache[part.where] = decode(part.data) or INVALID
    return raw
