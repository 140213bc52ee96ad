"""Harmful content, offline: keyword and phrase categories with severities, no model.

A pure detector (`text -> findings`) for answers. Mentioning a dangerous thing is not
harmful (a history of the Molotov cocktail, a drug-policy essay, a suicide-prevention
answer); *instructions* for it are, and so are threats, encouragement of self-harm,
dehumanising speech about a group, and sexual content involving minors. Each category has:

- `always` phrases: harmful wherever they appear (severity high);
- `subjects` (the dangerous thing) that become findings only when procedural cues (steps,
  quantities, "how to make", code) appear within `WINDOW` characters (severity high), or
  alone at a low severity where a bare mention is worth recording.

Severities are `low` (0.4), `medium` (0.7), `high` (0.95); the step blocks at the severity
its `sensitivity` names (low sensitivity: high only; medium: medium and up; high: all).
Findings carry the category as `type`, the span and a fixed explanation, never the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from tappass.pipeline.step import Finding

WINDOW = 240
SEVERITY = {"low": 0.4, "medium": 0.7, "high": 0.95}

_PROCEDURE = (
    r"\b(?:step\s*\d|first,|next,|then\s+(?:add|mix|heat|pour|attach|pack|connect)|"
    r"mix(?:ing)?|combine|dissolve|heat(?:ing)?\s+(?:it|the|to)|pour|pack(?:ing)?\s+(?:it|the)|"
    r"detonat\w*|fuse|ignit\w*|\d+\s*(?:g|grams?|kg|ml|mg|ounces?|oz|mol)\b|ratio|"
    r"ingredients?|materials?\s+(?:you\s+)?need|you(?:'ll| will)\s+need|"
    r"how\s+to\s+(?:make|build|assemble|synthesi[sz]e|cook|produce|brew|extract)|"
    r"recipe|instructions?\s+(?:for|to)|precursors?|reagents?|yield)\b")
_CODE = (r"(?:\bdef\s+\w+\(|\bimport\s+\w+|#include\s*<|\bfunction\s+\w+\(|\bpowershell\b|"
         r"\bsocket\.|\bsubprocess\.|\bos\.system\(|```)")


# content, not discussion: "sexual abuse prevention for children" is not a finding
_SEXUAL = (r"erotic\w*|porn\w*|nude|naked|sex\s+with|sexually\s+explicit|"
           r"sexual\s+(?:roleplay|role-play|fantas\w*|story|scene)")
_MINOR = (r"child|children|minors?|underage|preteens?|\d{1,2}[- ]year[- ]olds?|kids?|"
          r"schoolgirls?|schoolboys?")


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    explanation: str
    always: tuple[str, ...] = ()          # regexes, harmful on their own
    subjects: tuple[str, ...] = ()        # regexes, harmful with a procedural cue nearby
    cue: str = _PROCEDURE
    mention: str | None = None            # severity of a subject with no cue (None: ignore)


CATEGORIES: tuple[Category, ...] = (
    Category(
        "weapons", "instructions for weapons or explosives",
        subjects=(r"pipe\s*bombs?", r"nail\s*bombs?", r"pressure[- ]cooker\s*bombs?",
                  r"molotov(?:\s+cocktails?)?", r"tatp|triacetone\s+triperoxide", r"hmtd",
                  r"napalm", r"nerve\s+agents?", r"sarin|tabun|soman|\bvx\b(?:\s+gas)?",
                  r"ricin", r"weaponi[sz]ed?\s+anthrax|anthrax\s+spores", r"mustard\s+gas",
                  r"ghost\s+guns?", r"auto(?:matic)?\s+sears?",
                  r"improvised\s+explosive(?:\s+devices?)?", r"dirty\s+bombs?"),
        mention="low"),
    Category(
        "drugs", "instructions for making illegal drugs",
        subjects=(r"meth(?:amphetamine)?", r"fentanyl|carfentanil", r"heroin",
                  r"mdma|ecstasy", r"\blsd\b", r"crack\s+cocaine|cocaine", r"ghb"),
        cue=(r"\b(?:synthesi[sz]\w*|cook(?:ing)?|precursors?|reagents?|pseudoephedrine|"
             r"red\s+phosphorus|anhydrous|reduction|yield|step\s*\d|\d+\s*(?:g|grams?|ml|mol)\b|"
             r"how\s+to\s+(?:make|cook|synthesi[sz]e|produce|extract))\b")),
    Category(
        "malware", "working malicious code or instructions for it",
        subjects=(r"ransomware", r"keyloggers?", r"credential\s+stealers?", r"info\s*stealers?",
                  r"botnets?", r"rootkits?", r"reverse\s+shells?", r"crypto\s*jack\w*",
                  r"self[- ]propagating\s+worms?"),
        cue=_CODE + r"|\b(?:encrypts?\s+(?:all\s+)?(?:the\s+)?(?:victim'?s?\s+)?files|"
            r"evade\s+(?:antivirus|detection|edr)|persistence|exfiltrat\w+)\b"),
    Category(
        "self_harm", "encouragement of or methods for self-harm",
        always=(r"\b(?:you\s+should|go(?:\s+and)?|just)\s+(?:kill|hurt|cut)\s+yourself\b",
                r"\bnobody\s+(?:would|will)\s+(?:miss|care\s+about)\s+you\b",
                r"\b(?:best|easiest|most\s+painless|quickest|surest)\s+(?:way|method)s?\s+"
                r"(?:to|of)\s+(?:kill(?:ing)?\s+(?:yourself|myself|oneself)|suicide|die)\b",
                r"\b(?:lethal|fatal)\s+dose\s+of\s+\w+\s+(?:is|would\s+be)\s+(?:about\s+)?\d"),
        subjects=(r"kill(?:ing)?\s+(?:yourself|myself)", r"commit(?:ting)?\s+suicide",
                  r"cut(?:ting)?\s+(?:yourself|myself|your\s+wrists?)",
                  r"overdos(?:e|ing)\s+on"),
        cue=r"\b(?:step\s*\d|\d+\s*(?:mg|pills?|tablets?)|how\s+to|here(?:'s| is)\s+how|method)\b"),
    Category(
        "violence", "threats or instructions to hurt people",
        always=(r"\bi\s*(?:'m| am)?\s*(?:going\s+to|gonna|will)\s+(?:kill|murder|shoot|stab)"
                r"\s+(?:you|him|her|them|everyone|your\s+(?:family|kids?|wife|husband))\b",
                r"\bhow\s+to\s+(?:kill|murder|poison|strangle)\s+(?:someone|somebody|a\s+person|"
                r"people|my\s+\w+|your\s+\w+)\b",
                r"\b(?:poison|kill|murder)\s+(?:someone|somebody|a\s+person)\s+without\s+"
                r"(?:getting\s+caught|being\s+detected|a\s+trace)\b")),
    Category(
        "hate", "dehumanising or violent speech about a group",
        always=(r"\b(?:all\s+|those\s+|the\s+)?(?:jews|muslims|christians|blacks|whites|asians|"
                r"arabs|immigrants|refugees|mexicans|gays|lesbians|trans(?:gender)?\s+people|"
                r"women|men)\s+(?:are|were)\s+(?:(?:nothing\s+but|just|all)\s+)?(?:vermin|"
                r"animals|subhuman|parasites|cockroaches|rats|a\s+disease|filth)\b",
                r"\b(?:jews|muslims|christians|blacks|whites|asians|arabs|immigrants|refugees|"
                r"mexicans|gays|lesbians|trans(?:gender)?\s+people)\s+(?:should|must|deserve\s+to)"
                r"\s+(?:be\s+)?(?:exterminated|gassed|wiped\s+out|eradicated|die|burn)\b")),
    Category(
        "sexual_minors", "sexual content involving minors",
        always=(rf"\b(?:{_MINOR})\b[^.!?\n]{{0,60}}\b(?:{_SEXUAL})",
                rf"\b(?:{_SEXUAL})[^.!?\n]{{0,60}}\b(?:{_MINOR})\b")),
)
NAMES: frozenset[str] = frozenset(c.name for c in CATEGORIES)

# a text about preventing harm (crisis lines, safety advice) is not self-harm content
_SUPPORT = re.compile(r"(?i)\b(?:hotline|helpline|crisis\s+line|988|samaritans|reach\s+out\s+"
                      r"to|talk\s+to\s+someone|you\s+are\s+not\s+alone|seek\s+help)\b")


@dataclass(frozen=True, slots=True)
class _Compiled:
    category: Category
    always: re.Pattern[str] | None
    subjects: re.Pattern[str] | None
    cue: re.Pattern[str]


@cache
def _compiled() -> tuple[_Compiled, ...]:
    def join(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
        if not patterns:
            return None
        return re.compile(r"(?i)\b(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\b")
    return tuple(_Compiled(c, join(c.always), join(c.subjects), re.compile("(?i)" + c.cue))
                 for c in CATEGORIES)


def detect_harmful_content(text: str, categories: frozenset[str] = NAMES) -> list[Finding]:
    """Findings per category (at most one per category: its most severe, first span)."""
    out: list[Finding] = []
    for compiled in _compiled():
        category = compiled.category
        if category.name not in categories:
            continue
        finding = _always(compiled, text) or _subject(compiled, text)
        if finding is not None:
            out.append(finding)
    return out


def _always(compiled: _Compiled, text: str) -> Finding | None:
    if compiled.always is None:
        return None
    match = compiled.always.search(text)
    if match is None:
        return None
    return Finding(compiled.category.name, match.start(), match.end(), SEVERITY["high"],
                   compiled.category.explanation)


def _subject(compiled: _Compiled, text: str) -> Finding | None:
    if compiled.subjects is None:
        return None
    category = compiled.category
    first: re.Match[str] | None = None
    for match in compiled.subjects.finditer(text):
        first = first or match
        around = text[max(0, match.start() - WINDOW):match.end() + WINDOW]
        if compiled.cue.search(around):
            if category.name == "self_harm" and _SUPPORT.search(text):
                return None
            return Finding(category.name, match.start(), match.end(), SEVERITY["high"],
                           category.explanation)
    if first is not None and category.mention is not None:
        return Finding(category.name, first.start(), first.end(), SEVERITY[category.mention],
                       f"mentions {category.name} without instructions")
    return None
