"""Person names and places, offline: word lists plus capitalisation and context cues.

Runs of capitalised words are the candidates. A run is a person when a title precedes it
(``Dr.``, ``Mrs``), when a phrase introduces a person (``my name is``, ``Dear``), or when
it starts with a known given name (US census lists); two or more capitalised words that
are neither common words nor places score lower and count at high sensitivity. A run is a
place when it is in the GeoNames list, or when a phrase introduces a place (``lives in``,
``flew to``). Common English words are never names or places on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tappass.detect import lexicon
from tappass.pipeline.step import Finding

CAP = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f\u0391-\u03a9\u0410-\u042f"
PARTICLES = frozenset("van de der von da di del della la le du dos das ten ter bin al ben".split())
TITLES = frozenset("mr mrs ms miss mx dr prof sir madam dame lady lord herr frau mme mlle "
                   "sr sra srta dott ing".split())
ORG_WORDS = frozenset("inc ltd llc gmbh ag sa plc co corp corporation group company bank "
                      "university college institute foundation association partners holdings "
                      "labs technologies systems solutions services software media studio "
                      "studios club hotel restaurant airlines airport museum church school "
                      "hospital clinic ministry agency council committee investments capital "
                      "partners weekly daily times news resources records entertainment &".split())

_PERSON_BEFORE = re.compile(
    r"(?:name is|named|name|names|called|call me|user|add|under|said|shouted at|assistant to|"
    r"mr|mrs|ms|dr|kid|starring|directed by|calls me|"
    r"i am|i'm|this is|dear|hi|hello|hey|thanks|thank you|"
    r"regards|sincerely|cheers|signed|attn|attention|contact|ask for|speak to|speak with|"
    r"talk to|meet|met|married|husband|wife|son|daughter|mother|father|brother|sister|"
    r"friend|colleague|boss|manager|patient|client|customer|guardian|user|bot|by|with|"
    r"producer|commenter|author|writer|singer|actor|director|ceo|cfo|cto)\W{0,3}$")
_SAID = re.compile(r"(?:says|said|asks|asked|features|featuring) $")  # not "says: Hello"
_PERSON_AFTER = re.compile(
    r"^(?:,? (?:said|says|wrote|writes|told|asked|explained|replied|added|noted|"
    r"has been|who|and his|and her|points out|pointed out|lives (?:on|at|in)|lived (?:on|at|in)|"
    r"began|started|shouted|smiled|laughed|had given|has given|is very|is from|just has)\b|"
    r", can you|, could you|, please|, can i|"
    r", would you| is (?:a|an|my|our|the) [a-z]+ (?:person|man|woman)|"
    r"(?:'s|’s) (?:kid|child|children|son|daughter|wife|husband|mother|father|brother|sister|"
    r"friend|killers?|family|boss|birthday)\b)")
# family-name endings common across European languages (Slavic, Nordic, Baltic, Greek, ...)
_ITEM = re.compile(r"[^\s,]+(?<!,)")
_SURNAME_ENDINGS = ("ov", "ova", "ev", "eva", "ina", "sky", "ski", "ska", "sk\u00e1",
                    "sson", "sen", "dottir", "d\u00f3ttir", "ic", "i\u0107", "vi\u010d",
                    "escu", "poulos", "idis", "akis", "ovich", "evich", "enko", "yan", "ian",
                    "berg", "stein", "mann", "ez", "ini", "elli", "etti", "ucci", "ova",
                    "\u00e1", "\u00e9", "ov\u00e1", "ien\u0117", "ait\u0117", "nen",
                    "lainen", "oglu", "o\u011flu", "shvili", "dze", "wicz")
_PLACE_BEFORE = re.compile(
    r"(?:live in|lives in|lived in|living in|flew to|fly to|flying to|travel to|travelling to|"
    r"traveling to|travelled to|traveled to|moved to|moved from|move to|from|born in|based in|"
    r"located in|trip to|visit|visiting|visited|returned to|went to|going to|near|city of|"
    r"town of|grew up in|in|at|to)\s+$")
_PERSONAL = re.compile(r"\b(?:i|i'm|me|my|we|our|us|you|your|visit|trip|travel\w*|"
                       r"coming|going|flew|fly|moved|live\w*|born|from)\b")
_IN_PLACE = re.compile(r"(?:\b(?:in|near|around|outside)\s+|\b(?:city|town|location|"
                       r"country|destination|place|region|origin)['\"]?\s*[:=]\s*['\"]?)$")
_STRONG_PLACE = re.compile(
    r"(?:live in|lives in|lived in|living in|flew to|fly to|travel to|travelling to|"
    r"traveling to|moved to|moved from|from|born in|based in|located in|trip to|visiting|"
    r"returned to|grew up in|city of|town of|i'm in|i am in|we are in|am in|university of|"
    r"home city|home town|hometown|where:|arrived at|arrived in|arriving in)\s+$")


class NameFinder:
    """PERSON and LOCATION findings from capitalised runs."""

    def __init__(self) -> None:
        word = rf"[{CAP}][\w'’-]*\.?"
        particle = "|".join(sorted(PARTICLES))
        self._run = re.compile(rf"[{CAP}](?<![\w@/#.:&+-][{CAP}])[\w'’-]*\.?"
                               rf"(?: (?:(?:{particle}) )?{word})*")
        name = rf"[{CAP}][\w'’-]+"
        self._list = re.compile(rf"[{CAP}](?<![\w@/#.:&+-][{CAP}])[\w'’-]+(?:, {name}){{0,4}},? "
                                rf"and {name}(?![\w'’-])")
        low = r"[a-z\u00df-\u00ff\u0101-\u017f][\w'’-]+"
        self._lower = re.compile(
            r"(?:\bmy name is|\bname is|\bcall me|\bcalls me|\bmrs?\.|\bms\.)\s+"
            rf"({low}(?: [a-z]\.?(?= ))?(?: {low})?)")
        self._first = lexicon.first_names()
        self._last = lexicon.last_names()
        self._places = lexicon.places()
        self._regions = lexicon.regions()
        self._common = lexicon.common_words()

    def __call__(self, text: str) -> Iterator[Finding]:
        yield from self._lists(text)
        yield from self._lower_case(text)
        for m in self._run.finditer(text):
            if text[m.end():m.end() + 1] == "@":
                continue
            whole = m.group().rstrip(".")
            if " " in whole and self._is_place(whole):  # "United Kingdom", "New Zealand"
                finding = self._classify(text, (m.start(), m.start() + len(whole), False))
                if finding is not None:
                    yield finding
                continue
            for run in self._split(text, m.start(), m.group()):
                finding = self._classify(text, run)
                if finding is not None:
                    yield finding

    def _lower_case(self, text: str) -> Iterator[Finding]:
        """`my name is lena andersson`: names typed in lower case, after a strong cue."""
        low = text.lower()
        if "name is" not in low and "call me" not in low and "calls me" not in low and \
                "mr" not in low and "ms" not in low:
            return
        for m in self._lower.finditer(text):
            words = m.group(1).split()
            while words and words[-1].lower() in self._common:
                words.pop()
            if words and words[0].lower() not in self._common:
                value = " ".join(words)
                yield Finding("PERSON", m.start(1), m.start(1) + len(value), 0.7,
                              "name after a strong person cue")

    def _lists(self, text: str) -> Iterator[Finding]:
        """`Kónya, Becker and Vasquez`: names in a list, when some of them are known names."""
        if " and " not in text:
            return
        for m in self._list.finditer(text):
            items = [(i.start() + m.start(), i.group()) for i in _ITEM.finditer(m.group())
                     if i.group() != "and"]
            after = text[m.end():m.end() + 20].split()
            if after and (after[0].lower().strip(".,") in ORG_WORDS or
                          after[0].lower().strip(".,") in self._common):
                continue
            keys = [value.lower() for _, value in items]
            if any(k in self._common or k in ORG_WORDS for k in keys) or \
                    any(v in self._regions for _, v in items):
                continue
            known = sum(v in self._first or v in self._last for _, v in items)
            if known * 2 >= len(items):
                for start, value in items:
                    yield Finding("PERSON", start, start + len(value), 0.55, "names in a list")

    def _split(self, text: str, start: int, value: str) -> Iterator[tuple[int, int, bool]]:
        """Sub-runs (start, end, titled) cut at sentence-final dots, titles and common words."""
        cut: list[tuple[int, int]] = []
        titled = False
        pos = start
        for token in value.split(" "):
            t_start, t_end = pos, pos + len(token)
            pos = t_end + 1
            bare = _possessive(token.rstrip("."))
            key = bare.lower()
            if key in TITLES:
                if cut:
                    yield cut[0][0], cut[-1][1], titled
                cut, titled = [], True
                continue
            if key in PARTICLES and cut:
                cut.append((t_start, t_end))
                continue
            if key in self._common or key in ORG_WORDS or not bare or _camel(bare):
                if cut:
                    yield cut[0][0], cut[-1][1], titled
                cut, titled = [], False
                continue
            cut.append((t_start, t_start + len(bare) if len(bare) > 1 else t_end))
            if len(bare) < len(token.rstrip(".")) or (token.endswith(".") and len(bare) > 1):
                yield cut[0][0], cut[-1][1], titled
                cut, titled = [], False
        if cut:
            while cut and text[cut[-1][0]:cut[-1][1]].lower() in PARTICLES:
                cut.pop()
            if cut:
                yield cut[0][0], cut[-1][1], titled

    def _classify(self, text: str, run: tuple[int, int, bool]) -> Finding | None:
        start, end, titled = run
        value = text[start:end]
        words = value.split(" ")
        before = text[max(0, start - 24):start].lower()
        if titled:
            return Finding("PERSON", start, end, 0.9, "name after a title")
        if value.isupper() and len(value) < 4:
            return None  # an acronym
        if value.isupper() and " " in value:
            return None  # shouting or a heading, not a name
        place = self._is_place(value)
        first = words[0].title() in self._first and value.title() not in self._regions
        last = len(words) > 1 and words[-1].title() in self._last
        cued = _PERSON_BEFORE.search(before) or _SAID.search(before)
        if cued and not (place and _STRONG_PLACE.search(before)):
            return Finding("PERSON", start, end, 0.85 if first or last else 0.75,
                           "name after a person cue")
        if len(words) == 3 and len(words[1].rstrip(".")) == 1 and _name_like(words[0]) \
                and _name_like(words[2]):
            return Finding("PERSON", start, end, 0.8, "name with a middle initial")
        # one word that is both a known place and a given name ("Paris", "Florence",
        # "Austin") right after "in" ("weather in Paris"), a place-named field
        # ({"city": "Paris"}) or a strong place cue is the place
        if place and (not first or (len(words) == 1 and (
                _IN_PLACE.search(before) or _STRONG_PLACE.search(before)))):
            return Finding("LOCATION", start, end,
                           self._place_score(text, start, end, before), "known place")
        if _STRONG_PLACE.search(before) and not (first and len(words) > 1):
            return Finding("LOCATION", start, end, 0.6, "name after a place cue")
        if first:
            score = 0.9 if last else 0.8 if len(words) > 1 else 0.6
            return Finding("PERSON", start, end, score, "known given name")
        if _PERSON_AFTER.match(text[end:end + 40]):
            return Finding("PERSON", start, end, 0.7, "name before a person cue")
        if last:
            return Finding("PERSON", start, end, 0.65, "known family name")
        if len(words) == 1 and _speaker(text, start, end):
            return Finding("PERSON", start, end, 0.6, "speaker in a dialogue")
        if 2 <= len(words) <= 3 and all(_name_like(w) for w in words):
            if _own_line(text, start, end):
                return Finding("PERSON", start, end, 0.6, "capitalised words on their own line")
            if _surname_shaped(words[-1]) or not value.isascii():
                return Finding("PERSON", start, end, 0.55, "capitalised name-shaped words")
            return Finding("PERSON", start, end, 0.45, "capitalised words")
        return None

    def _is_place(self, value: str) -> bool:
        if value in self._places or value in self._regions:
            return True
        if value.isupper() and len(value) >= 4:
            return value.title() in self._places or value.title() in self._regions
        return False

    def _place_score(self, text: str, start: int, end: int, before: str) -> float:
        """A city is personal data more often than a country: "capital of France" is not,
        "we flew to France" is. A one-word place that is also a family name ("Jensen")
        needs a place cue."""
        value = text[start:end]
        if _STRONG_PLACE.search(before):
            return 0.85
        if value in self._regions or value.title() in self._regions:
            near = text[max(0, start - 40):end + 40].lower()
            personal = _PERSONAL.search(near) or _own_line(text, start, end)
            return 0.55 if personal else 0.4
        if _PLACE_BEFORE.search(before):
            return 0.8
        if " " not in value and value.title() in self._last:
            return 0.3
        return 0.45 if _sentence_start(before) and " " not in value else 0.7


def _speaker(text: str, start: int, end: int) -> bool:
    """`Lisa: Remember me?` - a name opening a line and followed by a colon."""
    return (start == 0 or text[start - 1] == "\n") and text[end:end + 1] == ":" and \
        text[end + 1:end + 2] in (" ", '"', "")


def _surname_shaped(word: str) -> bool:
    key = word.lower()
    return len(key) > 4 and key.endswith(_SURNAME_ENDINGS)


def _own_line(text: str, start: int, end: int) -> bool:
    """The run is the whole line (a signature, a card, an address label)."""
    head = text[max(0, start - 2):start].lstrip(" \t>")
    return (start == 0 or head.endswith("\n") or not head) and \
        text[end:end + 1] in ("", "\n", ",")


def _possessive(token: str) -> str:
    for suffix in ("'s", "’s", "'", "’"):
        if token.endswith(suffix):
            return token[:-len(suffix)]
    return token


def _sentence_start(before: str) -> bool:
    stripped = before.rstrip(" \t")
    return not stripped or stripped[-1] in ".!?\n>:\"'("


def _camel(word: str) -> bool:
    """`ChatGPT`, `iPhone`, `OpenAI`: product casing, not a name (McDowell, O'Brien are)."""
    inner = word[1:]
    if not any(c.isupper() for c in inner) or word.isupper():
        return False
    return not word.startswith(("Mc", "Mac", "O'", "O’", "D'", "D’", "Di", "De", "La", "Le"))


def _name_like(word: str) -> bool:
    return len(word) > 1 and word[0].isupper() and not word.isupper() and \
        not any(c.isdigit() for c in word)
