"""inspect_images (alias image_inspection): reads the text hidden in the request's images
and blocks prompt injection there.

Images sent inline (data: URLs, base64 blocks) are decoded once (shared with
detect_multimodal_content) and their metadata read with the standard library: PNG
tEXt/zTXt/iTXt chunks, JPEG comments, EXIF strings and XMP packets, GIF comments, WebP EXIF
and XMP; an SVG's text nodes. Each text goes through the
prompt-injection detector (`tappass.detect.injection.detect_injection`) and the
privilege-escalation detector; a finding at the sensitivity's score (the injection step's
scale: `low` 0.85, `medium` 0.4, `high` 0.3) blocks (`action: block`) or is recorded
(`flag`). Remote images are not fetched (no network at run time) and the pixels are not
read: there is no OCR in this version, so text drawn into an image is not seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.detect.injection import detect_injection
from tappass.detect.injection.detector import THRESHOLDS
from tappass.detect.threats.escalation import detect_privilege_escalation
from tappass.detect.threats.image_text import metadata_texts, svg_text
from tappass.detect.threats.media import MediaPart, media_parts, sniff
from tappass.pipeline.options import InspectImagesOptions
from tappass.pipeline.step import Decision, Finding
from tappass.pipeline.steps._media import INVALID, part_bytes
from tappass.pipeline.steps._threat_detection import decide

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


def image_texts(raw: bytes, declared: str | None) -> list[str]:
    """The texts an image carries outside its pixels."""
    kind = sniff(raw) or declared
    if kind == "image/svg+xml":
        text = svg_text(raw)
        return [text] if text else []
    return metadata_texts(raw, kind)


class InspectImages:
    id = "inspect_images"

    Options = InspectImagesOptions

    def __init__(self, options: InspectImagesOptions, services: Any) -> None:
        self.options = options
        self._threshold = THRESHOLDS[options.sensitivity]

    async def run(self, ctx: Context) -> Decision | None:
        hits: list[Finding] = []
        for part in media_parts(ctx.body["messages"]):
            if part.kind == "image":
                hits.extend(self._inspect(ctx, part))
        return decide("text hidden in an image", self.options.action, hits, "request")

    def _inspect(self, ctx: Context, part: MediaPart) -> list[Finding]:
        raw = part_bytes(ctx, part, self.options.max_bytes)
        if raw is None or raw is INVALID:
            return []
        out: list[Finding] = []
        for text in image_texts(raw, part.declared_type):
            found = [f for f in detect_injection(text) + detect_privilege_escalation(text)
                     if f.score >= self._threshold]
            if found:
                best = max(found, key=lambda f: f.score)
                out.append(Finding("image_text_injection", None, None, best.score,
                                   f"{part.where} (image): metadata text with {best.type} "
                                   f"({len(text)} characters)"))
        return out
