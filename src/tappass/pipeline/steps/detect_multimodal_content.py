"""detect_multimodal_content (alias detect_multimodal): checks the image, audio and file
parts of a request before a provider sees them.

Per part: the declared media type (data: URL, audio format, media_type) and the type its
magic bytes announce must both be in `allowed_types` and agree (a PNG declared as JPEG, an
executable declared as PDF, an SVG declared as PNG are refused); base64 must be valid; the
decoded size at most `max_bytes`; remote URLs are refused with `allow_remote: false`, must
be on `allowed_domains` when that is set, and are checked by the exfiltration rules (a
request catcher, data in the query string); provider file ids are refused with
`allow_file_ids: false`. An SVG is also checked for scripts, event handlers, foreignObject
and external references. More than `max_items` parts is refused. Every finding blocks
(`action: block`) or is recorded (`flag`). Text inside images is inspect_images' job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.detect.threats.exfiltration import assess
from tappass.detect.threats.image_text import svg_findings
from tappass.detect.threats.media import MediaPart, decoded_size, media_parts, sniff
from tappass.detect.threats.urls import DomainList, Url
from tappass.pipeline.options import MultimodalOptions
from tappass.pipeline.step import Decision, Finding
from tappass.pipeline.steps._media import INVALID, part_bytes
from tappass.pipeline.steps._threat_detection import decide, located

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

_NO_DOMAINS = DomainList([])
_REMOTE_REASONS = frozenset({"webhook_catcher", "paste_site", "file_drop", "chat_webhook",
                             "dns_tunnel", "secret_in_url", "personal_data_in_url"})


class DetectMultimodalContent:
    id = "detect_multimodal_content"

    Options = MultimodalOptions

    def __init__(self, options: MultimodalOptions, services: Any) -> None:
        self.options = options
        self._types = frozenset(options.allowed_types)
        self._domains = DomainList(options.allowed_domains)

    async def run(self, ctx: Context) -> Decision | None:
        parts = list(media_parts(ctx.body["messages"]))
        if not parts:
            return None
        hits: list[Finding] = []
        if len(parts) > self.options.max_items:
            hits.append(Finding("too_many_media", None, None, 1.0,
                                f"request: {len(parts)} media parts, at most "
                                f"{self.options.max_items} allowed"))
        for part in parts:
            hits.extend(located(f, f"{part.where} ({part.kind})") for f in self._check(ctx, part))
        return decide("disallowed media", self.options.action, hits, "request")

    def _check(self, ctx: Context, part: MediaPart) -> list[Finding]:
        if part.url is not None:
            return self._remote(part.url)
        if part.data is None:
            return [] if self.options.allow_file_ids else [
                Finding("file_reference_not_allowed", None, None, 1.0,
                        "files given by provider id are not allowed")]
        return self._inline(ctx, part)

    def _remote(self, url: str) -> list[Finding]:
        if not self.options.allow_remote:
            return [Finding("remote_media_not_allowed", None, None, 1.0,
                            "media given by URL are not allowed")]
        link = Url(url, 0, len(url), "bare")
        if self._domains and link.host not in self._domains:
            return [Finding("media_domain_not_allowed", None, None, 1.0,
                            f"{link.host or 'the URL'} is not in the allowed domains")]
        return [Finding(kind, None, None, score, why)
                for kind, score, why in assess(link, _NO_DOMAINS) if kind in _REMOTE_REASONS]

    def _inline(self, ctx: Context, part: MediaPart) -> list[Finding]:
        declared = part.declared_type
        assert part.data is not None
        size = decoded_size(part.data)
        if size > self.options.max_bytes:
            return [Finding("media_too_large", None, None, 1.0,
                            f"{size} bytes, at most {self.options.max_bytes} allowed")]
        raw = part_bytes(ctx, part, self.options.max_bytes)
        if raw is INVALID or raw is None:
            return [Finding("invalid_base64", None, None, 1.0, "the payload is not valid base64")]
        actual = sniff(raw)
        out: list[Finding] = []
        if declared is not None and declared not in self._types:
            out.append(Finding("media_type_not_allowed", None, None, 1.0,
                               f"declared type {declared} is not allowed"))
        if actual is None:
            out.append(Finding("unrecognised_media", None, None, 1.0,
                               "the bytes are not a known media format"))
        elif declared is not None and actual != declared:
            out.append(Finding("media_type_mismatch", None, None, 1.0,
                               f"declared {declared}, the bytes are {actual}"))
        elif actual not in self._types:
            out.append(Finding("media_type_not_allowed", None, None, 1.0,
                               f"{actual} is not allowed"))
        if actual == "image/svg+xml":
            out.extend(svg_findings(raw))
        return out
