"""Infrastructure details: private IPs, internal hostnames, cloud ARNs and resource ids,
Kubernetes objects and connection strings.

`infrastructure_detector(internal_domains)` returns the detector for a step's own
internal domains (patterns compiled once per domain set); `detect_infrastructure` is the
built-in one. Public IPs and public hostnames are not findings.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from tappass.detect.scan import outermost
from tappass.pipeline.step import Finding

# three dot-octets; the first octet is read backwards from the match (a literal-led regex
# is found by a fast search, one led by \d or a lookbehind is tried at every position)
_IPV4_TAIL = r"\.(?P<o2>\d{1,3})\.(?P<o3>\d{1,3})\.(?P<o4>\d{1,3})(?P<cidr>/\d{1,2})?(?!\.?\d)"
_IPV6_ULA = r"(?<![0-9a-f:])f[cd][0-9a-f]{2}:(?:[0-9a-f]{0,4}:){1,6}[0-9a-f]{0,4}(?:/\d{1,3})?"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_INTERNAL_SUFFIXES = (r"internal|local|corp|lan|intranet|private|localdomain|home\.arpa|"
                      r"svc|cluster\.local")
_CLOUD_HOSTS = (r"(?:rds|cache|redshift|es|docdb|elb|kafka|mq)\.amazonaws\.com|"
                r"database\.windows\.net|redis\.cache\.windows\.net|"
                r"servicebus\.windows\.net|cloudsql\.googleapis\.com")
_ARN = r"\barn:aws(?:-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:[^\s\"'`,;)\]}]+"
_AWS_PREFIXES = frozenset({"i", "vpc", "subnet", "sg", "vol", "snap", "ami", "eni", "igw", "nat",
                           "rtb", "acl", "eipalloc", "lt", "tgw", "vpce", "pcx", "dopt", "fs",
                           "db"})
_AWS_ID_TAIL = r"-[0-9a-f]{8}(?:[0-9a-f]{9})?(?![0-9a-z])"
_GCP = (r"\bprojects/[a-z][a-z0-9-]{4,28}[a-z0-9]/(?:locations|zones|regions|instances|"
        r"databases|topics|subscriptions|secrets|serviceAccounts|buckets|clusters)/[^\s\"'`,;]+"
        r"|\b[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com\b")
_AZURE = (r"/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
          r"(?:/resourcegroups/[^\s\"'`/,;]+)?(?:/providers/[^\s\"'`,;]+)?")
_K8S_KIND = (r"(?m)^[ \t]*kind:[ \t]*(?:Deployment|StatefulSet|DaemonSet|Service|Ingress|"
             r"ConfigMap|Secret|Namespace|ServiceAccount|Role|ClusterRole|RoleBinding|"
             r"ClusterRoleBinding|PersistentVolumeClaim|PersistentVolume|CronJob|Job|Pod|"
             r"NetworkPolicy|HorizontalPodAutoscaler|Gateway|VirtualService)[ \t]*$")
_CONN_URL = (r"\b(?:jdbc:)?(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|"
             r"amqps?|mssql|sqlserver|oracle|clickhouse|cassandra|kafka|nats|ldaps?|"
             r"snowflake|elasticsearch)://[^\s\"'`<>]+")
_CONN_ADO = (r"\b(?:server|data source|host)=[^;\s\"']+;[^\n\"']*?"
             r"(?:database|initial catalog)=[^;\n\"']+")


@dataclass(frozen=True, slots=True)
class _Patterns:
    ipv4_tail: re.Pattern[str]
    ipv6: re.Pattern[str]
    host_suffix: re.Pattern[str]
    aws_id_tail: re.Pattern[str]
    # (type, gate substrings: one must occur in the lowered text, pattern, score, what)
    gated: tuple[tuple[str, tuple[str, ...], re.Pattern[str], float, str], ...]


@cache
def _patterns(domains: tuple[str, ...]) -> _Patterns:
    suffixes = "|".join([_INTERNAL_SUFFIXES, _CLOUD_HOSTS,
                         *(re.escape(d.lower().strip(".")) for d in domains)])
    return _Patterns(
        re.compile(_IPV4_TAIL), re.compile(_IPV6_ULA),
        re.compile(rf"\.(?:{suffixes})(?![a-z0-9-])(?!\.[a-z0-9])"), re.compile(_AWS_ID_TAIL),
        (("CLOUD_ARN", ("arn:",), re.compile(_ARN), 0.95, "AWS resource name (ARN)"),
         ("CLOUD_RESOURCE_ID", ("projects/", "gserviceaccount"), re.compile(_GCP), 0.85,
          "Google Cloud resource path"),
         ("CLOUD_RESOURCE_ID", ("/subscriptions/",), re.compile(_AZURE), 0.9,
          "Azure resource id"),
         ("KUBERNETES_OBJECT", ("kind:",), re.compile(_K8S_KIND), 0.8, "Kubernetes manifest"),
         ("CONNECTION_STRING", ("://",), re.compile(_CONN_URL), 0.9, "database or broker URL"),
         ("CONNECTION_STRING", ("server=", "data source=", "host="), re.compile(_CONN_ADO), 0.9,
          "database connection string")))


def _first_octet(lower: str, dot: int) -> int | None:
    """Start of the digits (1 to 3) before `dot`, or None if they are not a first octet."""
    start = dot
    while start > 0 and lower[start - 1].isdigit() and dot - start < 4:
        start -= 1
    if start == dot or dot - start > 3 or (start > 0 and lower[start - 1] in ".0123456789"):
        return None
    return start


def _private_ips(lower: str, p: _Patterns) -> Iterator[Finding]:
    for match in p.ipv4_tail.finditer(lower):
        start = _first_octet(lower, match.start())
        if start is None:
            continue
        try:
            ip = ipaddress.IPv4Address(lower[start:match.start("cidr") if match.group("cidr")
                                             else match.end()])
        except ValueError:
            continue
        if ip.is_private and not ip.is_loopback and not ip.is_unspecified and \
                not ip.is_reserved:
            yield Finding("PRIVATE_IP", start, match.end(), 0.9,
                          "private or link-local IPv4 address")
    if ":" in lower and ("fd" in lower or "fc" in lower):
        for match in p.ipv6.finditer(lower):
            yield Finding("PRIVATE_IP", match.start(), match.end(), 0.8,
                          "unique-local IPv6 address")


def _hostnames(lower: str, p: _Patterns) -> Iterator[Finding]:
    for match in p.host_suffix.finditer(lower):
        start = match.start()
        while start > 0 and lower[start - 1] in _HOST_CHARS:
            start -= 1
        while start < match.start() and lower[start] in ".-":
            start += 1
        if start < match.start():
            yield Finding("INTERNAL_HOSTNAME", start, match.end(), 0.85,
                          "internal or private-network hostname")


def _aws_ids(lower: str, p: _Patterns) -> Iterator[Finding]:
    for match in p.aws_id_tail.finditer(lower):
        start = match.start()
        while start > 0 and lower[start - 1].isalpha():
            start -= 1
        if lower[start:match.start()] in _AWS_PREFIXES and \
                (start == 0 or not lower[start - 1].isalnum() and lower[start - 1] != "-"):
            yield Finding("CLOUD_RESOURCE_ID", start, match.end(), 0.8, "AWS resource id")


def _detect(text: str, p: _Patterns) -> list[Finding]:
    lower = text.lower()
    if len(lower) != len(text):
        lower = text
    found = [*_private_ips(lower, p), *_hostnames(lower, p), *_aws_ids(lower, p)]
    for kind, gates, pattern, score, what in p.gated:
        if any(gate in lower for gate in gates):
            source = text if kind == "KUBERNETES_OBJECT" else lower
            found.extend(Finding(kind, m.start(), m.end(), score, what)
                         for m in pattern.finditer(source))
    return outermost(found)


def infrastructure_detector(internal_domains: tuple[str, ...] = ()
                            ) -> Callable[[str], list[Finding]]:
    """The detector with the hostnames under `internal_domains` also reported."""
    def detect(text: str) -> list[Finding]:
        return _detect(text, _patterns(internal_domains))
    return detect


def detect_infrastructure(text: str) -> list[Finding]:
    return _detect(text, _patterns(()))
