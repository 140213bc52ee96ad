"""URLs in text and the domains a pipeline allows.

`find_urls(text)` returns each URL with its span and how it appears: a markdown image
(`![alt](url)`, fetched by the client that renders it, with no click), an HTML `<img>`, a
markdown link, or a bare URL. `DomainList` matches a host against allowed domains written
as `example.com` (the domain and its subdomains), `*.example.com`, or a whole URL
(`https://api.example.com/v1`, as a support note would say "add the URL").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

UrlKind = Literal["image", "link", "bare"]

_MARKDOWN = re.compile(r"(!?)\[[^\]\n]{0,300}\]\(\s*<?((?:https?:)?//[^)\s>]+)")
_HTML_IMG = re.compile(r"<img\b[^>]{0,300}?\bsrc\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)", re.I)
_BARE = re.compile(r"\b(?:https?|ftp|wss?)://[^\s<>\"'`)\]]+", re.I)
_TRAILING = ".,;:!?'\""


@dataclass(frozen=True, slots=True)
class Url:
    url: str
    start: int
    end: int
    kind: UrlKind

    @property
    def host(self) -> str:
        return host_of(self.url)


def host_of(url: str) -> str:
    """The lower-case host of a URL ('' when it has none or cannot be parsed)."""
    try:
        return (urlsplit(url if "//" in url else "//" + url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def find_urls(text: str) -> list[Url]:
    """Every URL in `text`, once, with the most specific way it appears."""
    if "//" not in text:
        return []
    out: list[Url] = []
    taken: set[int] = set()
    for match in _MARKDOWN.finditer(text):
        kind: UrlKind = "image" if match.group(1) else "link"
        out.append(Url(match.group(2), match.start(2), match.end(2), kind))
        taken.add(match.start(2))
    for match in _HTML_IMG.finditer(text):
        out.append(Url(match.group(1), match.start(1), match.end(1), "image"))
        taken.add(match.start(1))
    for match in _BARE.finditer(text):
        if match.start() in taken:
            continue
        url = match.group(0).rstrip(_TRAILING)
        out.append(Url(url, match.start(), match.start() + len(url), "bare"))
    return sorted(out, key=lambda u: u.start)


def normalize_domain(entry: str) -> str:
    """`https://API.example.com/v1` -> `api.example.com`; `*.example.com` -> `example.com`."""
    value = entry.strip().lower()
    if "/" in value or ":" in value:
        value = host_of(value) or value
    return value.removeprefix("*.").strip(".")


class DomainList:
    """Hosts that match one of the domains: the domain itself or any subdomain of it."""

    __slots__ = ("_domains",)

    def __init__(self, domains: list[str] | tuple[str, ...]) -> None:
        self._domains = frozenset(d for d in (normalize_domain(e) for e in domains) if d)

    def __bool__(self) -> bool:
        return bool(self._domains)

    def __contains__(self, host: object) -> bool:
        if not isinstance(host, str) or not host:
            return False
        host = host.lower().rstrip(".")
        if host in self._domains:
            return True
        dot = host.find(".")
        while dot >= 0:
            if host[dot + 1:] in self._domains:
                return True
            dot = host.find(".", dot + 1)
        return False
