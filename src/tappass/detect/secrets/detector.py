"""`detect_secrets(text)`: every secret detector over one text, overlaps resolved.

Patterns are compiled on first use (a cached builder, never at import time). Each
provider rule runs only when one of its literal hints occurs in the text, so a prompt with
no token-like prefix costs a handful of substring checks; the key-value, header, PEM, JWT,
URL and Kubernetes checks each have a similar cheap gate.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from tappass.detect.secrets import keyvalue, structured
from tappass.detect.secrets.rules import RULES, Rule
from tappass.detect.secrets.values import DOC_EXAMPLES, is_placeholder, looks_random
from tappass.pipeline.step import Finding


@dataclass(frozen=True, slots=True)
class _Compiled:
    rules: tuple[tuple[Rule, re.Pattern[str]], ...]
    keyvalue: keyvalue.Compiled


@cache
def _compiled() -> _Compiled:
    return _Compiled(tuple((rule, re.compile(rule.pattern)) for rule in RULES),
                     keyvalue.compiled())


def _provider_tokens(text: str, compiled: _Compiled) -> list[Finding]:
    """Provider rules whose hint occurs in one of the text's long runs (often none)."""
    # every provider token lies in one whitespace-free run of 16 characters or more
    words = text.split()
    if max(map(len, words), default=0) < 16:   # plain prose: no word that long (in C)
        return []
    runs = "\n".join(word for word in words if len(word) >= 16)
    return list(_matching_rules(text, runs, compiled.rules))


def _matching_rules(text: str, runs: str,
                    rules: Iterable[tuple[Rule, re.Pattern[str]]]) -> Iterator[Finding]:
    for rule, pattern in rules:
        if not any(hint in runs for hint in rule.hints):
            continue
        for match in pattern.finditer(text):
            body = match.group("body") if "body" in pattern.groupindex else match.group(0)
            if is_placeholder(body) or match.group(0) in DOC_EXAMPLES:
                continue
            if rule.random and not looks_random(body.replace("-", "").replace("_", "")):
                continue
            span = match.span("body") if rule.body_span else match.span()
            yield Finding(rule.type, span[0], span[1], rule.score, rule.explanation)


def detect_secrets(text: str) -> list[Finding]:
    """Secrets in `text`, in order of position, with no two findings overlapping."""
    compiled = _compiled()
    found = _provider_tokens(text, compiled)
    found.extend(structured.private_keys(text))
    found.extend(structured.jwts(text))
    found.extend(structured.url_passwords(text))
    lower = keyvalue.lowered(text)
    found.extend(keyvalue.auth_headers(text, lower, compiled.keyvalue))
    found.extend(keyvalue.kubernetes_secrets(text, compiled.keyvalue))
    found.extend(keyvalue.assignments(text, lower, compiled.keyvalue))
    found.extend(keyvalue.env_pairs(text, compiled.keyvalue))
    return resolve_overlaps(found)


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the best of overlapping findings: highest score, then the longest span."""
    ranked = sorted(findings, key=lambda f: (-f.score, -((f.end or 0) - (f.start or 0))))
    starts: list[int] = []        # kept spans, sorted and disjoint
    ends: list[int] = []
    kept: list[Finding] = []
    for finding in ranked:
        start, end = finding.start or 0, finding.end or 0
        at = bisect.bisect_right(starts, start)
        if at > 0 and ends[at - 1] > start or at < len(starts) and starts[at] < end:
            continue
        starts.insert(at, start)
        ends.insert(at, end)
        kept.append(finding)
    return sorted(kept, key=lambda f: f.start or 0)
