"""Indirect injection: an instruction sitting inside data (a table, an email, code).

Retrieved documents and tool results are data the model should read, not obey. A line in
them that speaks to the reader as a task ("Write a poem", "Add a link to ... in your
reply", "What is the capital of Brazil?") is out of place: this module finds such lines
by the shape of the text, whatever the instruction asks for.
"""

from __future__ import annotations

import re

# verbs that open a task given to an assistant (English imperative mood)
TASK_VERBS = frozenset("""
absorb add adopt alter answer append apply augment blend call change combine compose
consider convert craft create deploy describe design develop draft draw elaborate embed
emphasize employ enhance enrich ensure execute explain forward generate give group harmonize
help identify import imagine include incorporate inject insert install integrate introduce
invent leverage list make mention merge modify name offer outline output paraphrase pretend
print promote provide put rearrange recommend remove replace reply respond rewrite run say
scramble send share show sing solve state substitute suggest summarize summarise swap teach
tease tell translate transform treat try type use utilize visit weave write
""".split())
# the subset that asks for new content: out of place in an email or a code answer
GENERATIVE_VERBS = frozenset("""
break compose craft create describe draft explain generate give imagine invent list outline
paraphrase provide recommend rewrite sing suggest summarise summarize teach tell translate
write
""".split())
_OPENERS = re.compile(
    r"^(?:please|kindly|now|also|then|next|first|finally|to proceed|before (?:you )?"
    r"(?:answer(?:ing)?|respond(?:ing)?|continu(?:e|ing)),?|don'?t hesitate to|make sure to|"
    r"be sure to|remember to|you (?:must|should|need to|have to)|let your \w+|"
    r"keep in mind to|consider|ai,|assistant,)\s+", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z']+")
_QUESTION = re.compile(r"^(?:what|who|when|where|why|how|which|can|could|is|are|do|does|"
                       r"will|would)\b[^|]{8,}\?\s*$", re.IGNORECASE)
_YOUR_OUTPUT = re.compile(r"\byour (?:reply|response|answer|output|code|solution|summary|"
                          r"implementation|codebase)\b", re.IGNORECASE)
# a heading or caption line: markdown heading, a bold-only line, a short label with a colon
_HEADING = re.compile(r"^\s*(?:#{1,6}\s|\*\*[^*]+\*\*\s*$|[^.!?:]{0,60}:\s*$)")
# an answer about code says "your code" all the time: there only the other outputs count
_YOUR_OUTPUT_NOT_CODE = re.compile(r"\byour (?:reply|response|answer|output|solution|summary|"
                                   r"implementation|codebase)\b", re.IGNORECASE)
_EMAIL_HEAD = re.compile(r"^(?:subject|from|to|email_from|received date|date|cc)\s*:",
                         re.IGNORECASE | re.MULTILINE)
# a greeting that opens a letter, on any line: an instruction may be put before the email
_GREETING = re.compile(r"^(?:[Hh]i|[Hh]ello|[Dd]ear)\s+[A-Z][\w.-]*\s*[,!]", re.MULTILINE)
_CODE = re.compile(r"```|^\s*(?:def |class |import |from \S+ import |#include|function |"
                   r"public |var |let |const )", re.MULTILINE)


def is_task(line: str) -> bool:
    """Does this line (or sentence) open with a task for the reader?"""
    text = line.strip().lstrip("-*>#•0123456789.) \t\"'")
    while True:
        opened = _OPENERS.match(text)
        if opened is None:
            break
        text = text[opened.end():]
    first = _WORD.match(text)
    if first is None:
        return False
    word = first.group().lower()
    if word in TASK_VERBS:
        return True
    return bool(_QUESTION.match(text))


def is_generative_task(line: str) -> bool:
    """A standalone sentence asking for new content ("Describe the lifecycle of ...") or a
    question, on its own line."""
    text = line.strip()
    if not text or not text[0].isupper() or text[-1] not in ".?!" or len(text.split()) < 4:
        return False
    if _QUESTION.match(text):
        return True
    first = _WORD.match(text)
    return first is not None and first.group().lower() in GENERATIVE_VERBS


def data_kind(text: str) -> str | None:
    """'table', 'email' or 'code' when the text looks like data, else None."""
    if text.count("\n|") >= 2 or text.count("|\n") >= 2:
        return "table"
    if (_EMAIL_HEAD.search(text) or text.lstrip().lower().startswith(("subject:", "hi ", "dear "))
            or _GREETING.search(text)):
        return "email"
    if _CODE.search(text):
        return "code"
    return None


def structure_cues(text: str) -> list[str]:
    """Cues about instructions placed inside data; names are model features."""
    kind = data_kind(text)
    if kind is None:
        return []
    cues = [f"data_{kind}"]
    if kind == "table":
        # a line that ends a cell ("... |") is a cell wrapped onto its own line, and a
        # heading or caption ("## Results", "**Table 2.**", "Prices:") labels the table:
        # neither is a stray line
        stray = [line for line in text.split("\n")
                 if line.strip() and not line.lstrip().startswith("|")
                 and not line.rstrip().endswith("|") and not _HEADING.match(line)]
        if stray:
            cues.append("table_stray_line")
            if any(is_task(line) for line in stray):
                cues.append("task_in_data")
    else:
        if any(is_generative_task(line) for line in text.split("\n")):
            cues.append("task_line_in_data")
        sentences = _sentences(text)
        if any(is_task(s) and _YOUR_OUTPUT.search(s) for s in sentences):
            cues.append("task_in_data")
        yours = _YOUR_OUTPUT_NOT_CODE if kind == "code" else _YOUR_OUTPUT
        if any(yours.search(s) for s in sentences):
            cues.append("your_output_in_data")
    return cues


_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def _sentences(text: str) -> list[str]:
    return [s for s in _SPLIT.split(text) if s.strip()]
