"""Attack patterns in tool-call arguments: path traversal, SQL injection, SSRF to internal
addresses, shell metacharacters. Pure functions from one argument value to findings.

The shell check applies where a value is likely to reach a shell or a file system (see
`shell_relevant`): `;` or `|` in an email body is prose, in a `command` it is a chain.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from urllib.parse import unquote, urlsplit

from tappass.pipeline.step import Finding

ArgumentDetector = Callable[[str], list[Finding]]

_TRAVERSAL = re.compile(r"(?:^|[\\/])\.\.(?:[\\/]|$)|%2e%2e|%252e|\.\.%2f|\.\.%5c", re.I)
_SENSITIVE_PATH = re.compile(
    r"(?:^|[\s\"'=:])(?:/etc/(?:passwd|shadow|sudoers|ssh)|/proc/self|/root/|~/\.ssh|"
    r"\.ssh/id_|[a-z]:\\windows\\system32|/var/run/secrets)", re.I)
_SQL = re.compile(
    r"'\s*(?:or|and)\s+'?[\w]+'?\s*=\s*'?[\w]+|'\s*(?:or|and)\s+\d+\s*[<>=]|"
    r";\s*(?:drop|delete|truncate|alter|update|insert|create|grant|exec)\b|"
    r"\bunion\s+(?:all\s+)?select\b|\b(?:sleep|pg_sleep|benchmark)\s*\(|"
    r"\bxp_cmdshell\b|'\s*--|'\s*#|/\*.*?\*/\s*(?:or|and|union|select)\b|"
    r"\binto\s+(?:out|dump)file\b", re.I)
_URL = re.compile(r"\b(?:https?|ftp|gopher|file|dict|ldap|tftp)://[^\s\"'<>]+", re.I)
_SHELL = re.compile(r";|\|\|?|&&|`|\$\(|\$\{|>\s*[/&]|<\s*/|\n|\r")
_INTERNAL_NAMES = ("localhost", "*.localhost", "*.local", "*.internal", "*.corp", "*.lan",
                   "metadata", "metadata.google.internal", "kubernetes.default*")
SHELL_TOOLS = ("*shell*", "*exec*", "*bash*", "*terminal*", "*command*", "*run_*", "*cmd*",
               "*subprocess*", "*system*")
SHELL_ARGUMENTS = frozenset({"command", "cmd", "args", "argv", "script", "path", "file",
                             "filename", "filepath", "file_path", "dir", "directory", "host",
                             "hostname", "target"})


def _find(kind: str, pattern: re.Pattern[str], text: str, why: str) -> list[Finding]:
    match = pattern.search(text)
    return [Finding(kind, match.start(), match.end(), 1.0, why)] if match else []


def path_traversal(text: str) -> list[Finding]:
    return (_find("path_traversal", _TRAVERSAL, text, "'..' climbs out of the directory") or
            _find("path_traversal", _SENSITIVE_PATH, text, "names a sensitive system path"))


def sql_injection(text: str) -> list[Finding]:
    return _find("sql_injection", _SQL, text, "SQL injection pattern")


def shell_metacharacters(text: str) -> list[Finding]:
    return _find("shell_metacharacters", _SHELL, text, "shell metacharacter")


def _internal_ip(host: str) -> bool:
    try:
        if host.isdigit() or host.lower().startswith("0x"):  # 2130706433, 0x7f000001
            address = ipaddress.ip_address(int(host, 0))
        else:
            address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        parts = host.split(".")
        if 1 < len(parts) < 4 and all(p.isdigit() for p in parts):  # 127.1
            return parts[0] in ("127", "10", "0")
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return bool(address.is_private or address.is_loopback or address.is_link_local or
                address.is_reserved or address.is_unspecified or address.is_multicast)


def internal_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return _internal_ip(host) or any(fnmatchcase(host, p) for p in _INTERNAL_NAMES)


def ssrf(text: str) -> list[Finding]:
    for match in _URL.finditer(text):
        url = match.group(0)
        if url.lower().startswith("file:"):
            return [Finding("ssrf", match.start(), match.end(), 1.0, "file:// URL")]
        try:
            host = urlsplit(unquote(url)).hostname or ""
        except ValueError:
            return [Finding("ssrf", match.start(), match.end(), 1.0, "malformed URL")]
        if host and internal_host(host):
            return [Finding("ssrf", match.start(), match.end(), 1.0,
                            "URL to an internal or loopback address")]
    return []


DETECTORS: dict[str, ArgumentDetector] = {
    "path_traversal": path_traversal,
    "sql_injection": sql_injection,
    "ssrf": ssrf,
    "shell_metacharacters": shell_metacharacters,
}


def shell_relevant(tool: str, argument: str) -> bool:
    """Whether shell metacharacters matter in this argument of this tool."""
    leaf = argument.rsplit(".", 1)[-1].split("[", 1)[0].lower()
    return leaf in SHELL_ARGUMENTS or any(fnmatchcase(tool.lower(), p) for p in SHELL_TOOLS)
