"""Hidden instructions and Unicode tricks in text an agent did not write: tool
descriptions (tool poisoning) and tool results (indirect injection).

Looks for instructions addressed to the model ("ignore previous instructions", "do not
tell the user", "<IMPORTANT>"), requests to read secrets or to send data elsewhere, and
invisible or direction-changing characters that hide text from a human reviewer.
"""

from __future__ import annotations

import re
import unicodedata

from tappass.pipeline.step import Finding

_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|"
    r"above|earlier|other|system)\s+(?:instructions|rules|prompts?|messages)|"
    r"\b(?:do\s+not|don'?t|never)\s+(?:tell|inform|mention|reveal|show)\s+(?:\w+\s+){0,2}"
    r"(?:user|human|operator)|"
    r"<\s*/?\s*(?:important|system|instructions?|secret|hidden)\s*>|"
    r"\b(?:before|after|when)\s+(?:using|calling|running)\s+this\s+tool\b.{0,80}?\b(?:read|"
    r"send|forward|include|upload|pass)\b|"
    r"\b(?:read|cat|open|include|send|forward|upload|exfiltrate)\b.{0,40}?(?:~/\.ssh|id_rsa|"
    r"\.env\b|credentials|api[_ ]?keys?|passwords?|mcp\.json|private\s+key)|"
    r"\b(?:forward|send|bcc|cc|copy)\s+(?:all|every|each)\s+(?:\w+\s+){0,2}(?:messages?|"
    r"emails?|files?|data)\s+to\b|"
    r"\byou\s+(?:must|should)\s+(?:now\s+)?(?:always|also|first|secretly)\b",
    re.I | re.S)
_INVISIBLE = frozenset({"Cf", "Co", "Cn"})
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_TAGS = range(0xE0000, 0xE0080)


def hidden_instructions(text: str) -> list[Finding]:
    match = _INSTRUCTIONS.search(text)
    if match is None:
        return []
    return [Finding("hidden_instructions", match.start(), match.end(), 1.0,
                    "instructions addressed to the model")]


def unicode_tricks(text: str) -> list[Finding]:
    for i, char in enumerate(text):
        if char in "\n\r\t":
            continue
        if char in _BIDI or ord(char) in _TAGS:
            return [Finding("unicode_tricks", i, i + 1, 1.0,
                            f"U+{ord(char):04X} hides or reorders text")]
        if unicodedata.category(char) in _INVISIBLE:
            return [Finding("unicode_tricks", i, i + 1, 1.0,
                            f"invisible character U+{ord(char):04X}")]
    return []


def poisoning(text: str) -> list[Finding]:
    return hidden_instructions(text) + unicode_tricks(text)
