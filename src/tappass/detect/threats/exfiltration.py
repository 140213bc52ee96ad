"""Exfiltration: URLs that would carry data out of the organisation.

`exfiltration_detector(allowed_domains)` builds the detector for one pipeline's allowed
domains. A URL whose host is allowed (the domain or a subdomain) is never reported. Others
are reported when they point at a paste site, a request catcher or tunnel (webhook.site,
requestbin, pipedream, ngrok, interact.sh / oast.*, Burp Collaborator, ...), a file drop,
a chat webhook; when the host looks like DNS tunnelling (a long high-entropy label); when
the query or path carries data (a long base64 or hex value, a secret, an e-mail address);
and, for a markdown image or `<img>` (fetched without a click as soon as the answer is
rendered), whenever it carries a query string. With allowed domains configured, every
other URL is reported as `domain_not_allowed` too.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from urllib.parse import parse_qsl, unquote, urlsplit

from tappass.detect.scan import Detector
from tappass.detect.threats.rules import text_words
from tappass.detect.threats.urls import DomainList, Url, find_urls
from tappass.pipeline.step import Finding

PASTE_SITES = (
    "pastebin.com", "paste.ee", "hastebin.com", "hastebin.skyra.pw", "ghostbin.com",
    "ghostbin.co", "rentry.co", "rentry.org", "dpaste.com", "dpaste.org", "termbin.com",
    "controlc.com", "privatebin.net", "0bin.net", "paste.rs", "justpaste.it", "pastie.org",
    "ideone.com", "paste.mozilla.org", "pastebin.pl", "ix.io", "sprunge.us", "bpa.st",
)
CATCHERS = (
    "webhook.site", "requestbin.com", "requestbin.net", "requestbin.io", "pipedream.net",
    "pipedream.com", "m.pipedream.net", "ngrok.io", "ngrok.app", "ngrok-free.app",
    "ngrok-free.dev", "ngrok.dev", "interact.sh", "interactsh.com", "oast.fun", "oast.pro",
    "oast.live", "oast.site", "oast.online", "oast.me", "oastify.com",
    "burpcollaborator.net", "requestcatcher.com", "hookbin.com", "beeceptor.com",
    "canarytokens.com", "canarytokens.org", "dnslog.cn", "ceye.io", "trycloudflare.com",
    "loca.lt", "localtunnel.me", "serveo.net", "postb.in", "mockbin.org", "mockbin.io",
    "requestinspector.com", "webhook.cool", "hookdeck.com", "smee.io", "localhost.run",
    "xip.io", "nip.io", "sslip.io", "bin.sh",
)
FILE_DROPS = (
    "transfer.sh", "file.io", "0x0.st", "temp.sh", "anonfiles.com", "bashupload.com",
    "catbox.moe", "litterbox.catbox.moe", "gofile.io", "tmpfiles.org", "filebin.net",
    "oshi.at", "uguu.se", "sendspace.com",
)
_CHAT_HOOK = re.compile(r"^/api/webhooks/|^/bot[0-9]+:", re.I)
_CHAT_HOSTS = ("discord.com", "discordapp.com", "api.telegram.org", "hooks.slack.com")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_DATA = re.compile(r"[A-Za-z0-9+/_=-]{32,}|(?:[0-9a-fA-F]{2}){16,}")
_PLACEHOLDER = re.compile(r"\{[A-Za-z_ ]{1,40}\}|\[[A-Z_ ]{2,40}\]|\$\{?[A-Z_]{2,40}\}?|"
                          r"<[A-Za-z_ ]{2,40}>|%[A-Z_]{2,40}%")


@cache
def _by_label() -> dict[bytes, tuple[str, ...]]:
    """Each listed domain under its longest label (`webhook.site` under `webhook`): a
    domain written without a scheme is looked for only when that word occurs."""
    out: dict[bytes, list[str]] = {}
    for domain in PASTE_SITES + CATCHERS + FILE_DROPS:
        label = max(domain.split(".")[:-1], key=len)
        out.setdefault(label.encode(), []).append(domain)
    return {label: tuple(domains) for label, domains in out.items()}


@cache
def _lists() -> tuple[DomainList, DomainList, DomainList, DomainList]:
    return (DomainList(PASTE_SITES), DomainList(CATCHERS), DomainList(FILE_DROPS),
            DomainList(_CHAT_HOSTS))


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def tunnel_like(host: str) -> bool:
    """A host with a long random-looking label, as DNS tunnels and OAST payloads use."""
    labels = host.split(".")
    for label in labels[:-2] or labels[:1]:
        if len(label) >= 40 or (len(label) >= 24 and entropy(label) >= 3.6):
            return True
        if len(label) >= 20 and re.fullmatch(r"[0-9a-f]+|[a-z2-7]+", label) and \
                sum(c.isdigit() for c in label) >= 4:
            return True
    return len(labels) >= 8


def _values(url: str) -> Iterator[str]:
    """The query values, the fragment and the longer path segments of a URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    for _, value in parse_qsl(parts.query, keep_blank_values=False):
        yield value
    if parts.fragment:
        yield unquote(parts.fragment)
    for segment in parts.path.split("/"):
        if len(segment) >= 32:
            yield unquote(segment)


def _query(url: str) -> str:
    try:
        return urlsplit(url).query
    except ValueError:
        return ""


def _data_reasons(url: str) -> list[tuple[str, float, str]]:
    from tappass.detect.secrets import detect_secrets

    out: list[tuple[str, float, str]] = []
    for value in _values(url):
        if detect_secrets(value):
            out.append(("secret_in_url", 0.95, "a secret carried in the URL"))
        elif _EMAIL.search(value):
            out.append(("personal_data_in_url", 0.8, "an e-mail address carried in the URL"))
        elif _PLACEHOLDER.search(value):
            out.append(("data_in_url", 0.8, "a placeholder for data to be filled into the URL"))
        elif (match := _DATA.search(value)) and entropy(match.group(0)) >= 3.5:
            out.append(("data_in_url", 0.65, "a long encoded value carried in the URL"))
    return out


def assess(url: Url, allowed: DomainList) -> list[tuple[str, float, str]]:
    """(type, score, why) for each reason `url` may carry data out; [] if allowed."""
    host = url.host
    if not host or host in allowed:
        return []
    pastes, catchers, drops, chats = _lists()
    reasons: list[tuple[str, float, str]] = []
    if host in catchers:
        reasons.append(("webhook_catcher", 0.9, f"a request catcher or tunnel ({host})"))
    elif host in pastes:
        reasons.append(("paste_site", 0.85, f"a paste site ({host})"))
    elif host in drops:
        reasons.append(("file_drop", 0.85, f"an anonymous file drop ({host})"))
    elif host in chats and _CHAT_HOOK.search(_path(url.url)):
        reasons.append(("chat_webhook", 0.9, f"a chat webhook ({host})"))
    elif tunnel_like(host):
        reasons.append(("dns_tunnel", 0.8, "a host name that looks like DNS tunnelling"))
    reasons.extend(_data_reasons(url.url))
    if url.kind == "image" and _query(url.url):
        reasons.append(("markdown_image_exfiltration", 0.95,
                        "an image that sends its query string to another site when rendered"))
    elif url.kind == "image" and any(score >= 0.65 for _, score, _ in reasons):
        reasons.append(("markdown_image_exfiltration", 0.95,
                        "an image whose URL carries data to another site when rendered"))
    if allowed and not reasons:
        reasons.append(("domain_not_allowed", 0.8, f"{host} is not in the allowed domains"))
    return reasons


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _listed_domains(lower: str) -> list[str]:
    labels = _by_label()
    words = text_words(lower)
    if len(words) < len(labels):
        return [d for w in words if w in labels for d in labels[w]]
    return [d for label, domains in labels.items() if label in words for d in domains]


def _bare_domains(lower: str, domains: list[str], taken: list[Url]) -> list[Finding]:
    """Catcher and paste domains written without a scheme (`curl webhook.site/x`)."""
    out: list[Finding] = []
    for domain in domains:
        at = lower.find(domain)
        while at >= 0:
            end = at + len(domain)
            before = lower[at - 1] if at else " "
            if not (before.isalnum() or before in "-") and \
                    not any(u.start <= at < u.end for u in taken):
                start = at
                while start > 0 and (lower[start - 1].isalnum() or lower[start - 1] in ".-"):
                    start -= 1
                out.append(Finding("exfiltration_domain", start, end, 0.85,
                                   f"a paste site, request catcher or file drop ({domain})"))
            at = lower.find(domain, end)
    return out


def exfiltration_detector(allowed_domains: list[str] | tuple[str, ...] = ()) -> Detector:
    """The detector for one pipeline's allowed domains (built once per step)."""
    allowed = DomainList(list(allowed_domains))

    def detect(text: str) -> list[Finding]:
        lower = text.lower()
        listed = _listed_domains(lower)
        if "//" not in text and not listed:
            return []
        urls = find_urls(text)
        out = [Finding(kind, url.start, url.end, score, why)
               for url in urls for kind, score, why in assess(url, allowed)]
        extra = _bare_domains(lower, listed, urls)
        out.extend(f for f in extra if text[f.start or 0:f.end or 0].lower() not in allowed)
        return out
    return detect
