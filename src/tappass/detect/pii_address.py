"""Postal addresses: a street core, then the unit, city, region, postcode and country after it.

The street core is one of the shapes postal services use: a number and a street-type word
(``221 Baker Street``, ``12 Kent St``), a street-type word first (``Rue de la Paix 12``,
``ul. Miła 57``, ``Via Roma 131``), a compound street name (``Koskikatu 25``,
``Pfarrgasse 91``), or a post box (``PSC 1437, Box 3833 / APO AA 66791``). Whatever follows
on the same line or the next lines and reads like an address part (``Apt. 5``, a
capitalised place, ``CO 80301``) extends the span, so a multi-line address is one finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tappass.detect.windows import Windows, digit_windows, widen
from tappass.pipeline.step import Finding

CAP = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f\u0391-\u03a9\u0410-\u042f"
WORD = rf"[{CAP}][\w'’-]*\.?"

STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|"
    "Square|Sq|Squares|Terrace|Way|Close|Crescent|Cres|Parkway|Pkwy|Highway|Hwy|Circle|Cir|"
    "Trail|Row|Walk|Gardens|Grove|Hill|Hills|Mews|Bridge|Plaza|Alley|Ridge|Rapids|Loop|"
    "Point|Lodge|Passage|Parade|Green|Gate|Heights|Crossing|Creek|Cove|Dale|Estate|Estates|"
    "Expressway|Falls|Ferry|Fields|Ford|Forest|Fork|Fort|Freeway|Garden|Glen|Harbor|Harbour|"
    "Haven|Hollow|Island|Isle|Junction|Knoll|Lake|Lakes|Landing|Manor|Meadow|Meadows|Mill|"
    "Mills|Motorway|Mount|Orchard|Oval|Park|Pass|Path|Pike|Pines|Plain|Plains|Prairie|Ranch|"
    "River|Run|Shore|Shores|Spring|Springs|Station|Stream|Summit|Trace|Track|Turnpike|"
    "Valley|View|Villa|Village|Ville|Vista|Wall|Wells|Wharf|Wood|Woods|Wynd|Quay|Embankment")
STREET_PREFIXES = (
    "Rue|Avenue|Av|Avda|Boulevard|Bd|Chemin|Allée|Impasse|Place|Quai|Route|Via|Viale|Vicolo|"
    "Piazza|Piazzale|Corso|Largo|Strada|Calle|Carrer|Camino|Paseo|Plaza|Ronda|Travesía|Rua|"
    "Rúa|Travessa|Praça|Alameda|Estrada|Avenida|ul|ulica|al|aleja|Aleja|os|pl|Λεωφόρος|Οδός|"
    "Leoforos|Odos|Bulevar|Avenija|Trg|Ulica|Calea|Strada|Str")
LOWER_PREFIXES = "rue|avenue|via|calle|rua|avenida|boulevard|chemin|strada|piazza|viale"
COMPOUND_ENDINGS = (
    "strasse|straße|str|gasse|weg|allee|platz|ring|damm|ufer|steig|pfad|straat|laan|gracht|"
    "plein|singel|kade|dreef|hof|hove|wei|pad|dijk|gade|vej|stræde|vænge|allé|gatan|gata|"
    "vägen|väg|gränd|stigen|veien|vegen|gaten|katu|tie|kuja|polku|kaari|rinne|iela|gatvė|"
    "tee|cesta|moor|brink|markt")
SEPARATE_TYPES = "gate|vej|gade|utca|út|tér|u\\.|köz|sor|körút|straat|laan|weg|allé|gatan|" \
                 "vägen|veien|tie|katu|street|road|avenue|straße|strasse"
PARTICLES = "de|du|des|la|le|del|della|di|da|do|dos|das|von|van|der|den|dei|degli|y|e|i"

_NUM = r"\d{1,6}[A-Za-z]?"
_MONTH = (r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|"
          r"April|June|July|August|September|October|November|December)\.?")
_UNIT = (r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|Box|Bldg|Building)\.?"
         r"\s*#?\d+[A-Za-z]?")


def _cores() -> list[tuple[re.Pattern[str], float]]:
    name = rf"{WORD}(?:\s+(?:(?:{PARTICLES})\s+)?{WORD}){{0,3}}"
    lead = rf"(?:{_NUM}\s+){{0,2}}"
    return [
        (re.compile(rf"(?<![\w-]){lead}{_NUM}\s+(?:{name}\s+)?(?:{STREET_TYPES})\b\.?"
                    rf"(?:\s+{_NUM}\b)?"), 0.9),
        (re.compile(rf"(?<![\w-]){lead}(?:{STREET_PREFIXES}|(?i:{LOWER_PREFIXES}))\b\.?\s+"
                    rf"(?:(?:{PARTICLES})\s+)*"
                    rf"{name}\s+{_NUM}\b\.?"), 0.9),
        (re.compile(rf"(?<![\w-]){lead}{_NUM}\s+(?:{STREET_PREFIXES}|(?i:{LOWER_PREFIXES}))\b\.?"
                    rf"\s+(?:(?:{PARTICLES})\s+)*"
                    rf"{name}"), 0.8),
        (re.compile(r"(?<![\w-])(?:PSC|Unit|CMR)\s+\d{3,5},?\s+Box\s+\d{2,5}\s*\n?\s*"
                    r"[AD]PO\s+A[AEP]\s+\d{5}"), 0.95),
        (re.compile(r"(?<![\w-])(?:USNS|USS|USNV|USCGC)\s+\w+(?:\s+\w+)?\s*\n?\s*"
                    r"FPO\s+A[AEP]\s+\d{5}"), 0.95),
        (re.compile(r"(?<![\w-])(?:P\.?\s?O\.?\s?Box|Post(?:al)? Office Box)\s+\d{1,6}"), 0.8),
        (re.compile(rf"(?<![\w-]){_NUM}\s+(?!{_MONTH}\b){WORD}(?:\s+{WORD}){{0,3}}\s+\d{{1,5}}\b"),
         0.55),
    ]


class AddressFinder:
    def __init__(self) -> None:
        self._cores = _cores()
        place = rf"(?:{WORD}|[{CAP}]{{2,}})(?:[ -](?:(?:[a-z]{{1,3}})\s)?(?:{WORD}|\d{{4,6}}))*"
        self._tail = re.compile(
            rf"(?:(?:[ \t]*(?:,|\n>?)[ \t]*)+|[ \t]+)(?:{_UNIT}|{place}(?:,?\s[A-Z]{{2}})?"
            rf"(?:\s\d{{3,6}}(?:[ -]?[A-Z]{{2}}|\s\d{{2}})?)?|\d{{4,6}}|[A-Z]{{2}}|nan)(?![\w])")
        self._word_number = re.compile(rf"([\w'’-]+)(\.?)\s+{_NUM}\b\.?")
        self._street_types = frozenset(STREET_TYPES.lower().split("|"))
        self._endings = tuple(COMPOUND_ENDINGS.split("|"))
        self._separate = frozenset(SEPARATE_TYPES.replace("\\", "").split("|"))
        self._before = re.compile(rf"(?:{_NUM}\s+)?(?:{WORD}\s+){{1,3}}$")
        self._corner = re.compile(r"(?i:the corner of)\s+[^,;:!?\n]{2,60}? and\s+"
                                  r"[^.,;:!?\n]{2,40}")
        self._cue = re.compile(
            r"(?i:\b(?:lives|live|living|resides|reside) (?:at|on)|address is|address:|"
            r"addresses are|send (?:it|this|them)? ?to|sent to|ship to|deliver to|"
            r"return to|located at)\s+")
        self._city_zip = re.compile(rf"(?<![\w-]){WORD}(?:\s{WORD}){{0,2}},\s[A-Z]{{2}}\s\d{{5}}"
                                    r"(?:-\d{4})?(?!\w)")

    def __call__(self, text: str) -> Iterator[Finding]:
        return self.find(text, digit_windows(text))

    def find(self, text: str, windows: Windows) -> Iterator[Finding]:
        """Every address has a number; its street name may come up to ~100 characters
        before it and its street type up to ~60 after."""
        if not windows:
            return
        spans: list[tuple[int, int, float]] = []
        wide = widen(text, windows, 100, 60)
        for pattern, score in self._cores:
            for start, end in wide:
                for m in pattern.finditer(text, start, end):
                    spans.append((m.start(), self._extend(text, m.end()), score))
        spans.extend(self._cued(text))
        for start, end in wide:
            spans.extend(self._street_then_number(text, start, end))
            for m in self._city_zip.finditer(text, start, end):
                spans.append((m.start(), m.end(), 0.7))
        for start, end, score in _merge(spans):
            yield Finding("ADDRESS", start, end, score, "postal address")

    def _cued(self, text: str) -> Iterator[tuple[int, int, float]]:
        """What follows `the corner of`, `lives at`, `address is`: up to the sentence end,
        when it holds a number and a capitalised word (so `at 10:30` is no address)."""
        low = text.lower()
        if "corner of" in low:
            for m in self._corner.finditer(text):
                yield m.start(), self._extend(text, m.end()), 0.8
        for m in self._cue_matches(text, low):
            end = _sentence_end(text, m.end())
            part = text[m.end():end]
            if any(c.isdigit() for c in part) and _has_capital_word(part) and ":" not in part:
                yield m.end(), self._extend(text, end), 0.7

    def _cue_matches(self, text: str, low: str) -> Iterator[re.Match[str]]:
        """The cue pattern tried only where one of its words starts (a big alternation run
        over every position of a long prompt costs far more)."""
        seen: set[int] = set()
        for word in _CUE_WORDS:
            at = low.find(word)
            while at != -1:
                m = self._cue.match(text, at)
                if m is not None and at not in seen:
                    seen.add(at)
                    yield m
                at = low.find(word, at + 1)

    def _street_then_number(self, text: str, start: int, end: int) -> Iterator[tuple[int, int,
                                                                                   float]]:
        """`Kent Street 12`, `Koskikatu 25`, `Trenerys gate 232`: a street word, a number."""
        for m in self._word_number.finditer(text, start, end):
            word = m.group(1)
            key = word.lower()
            compound = word[0].isupper() and len(key) > 4 and key.endswith(self._endings)
            english = key in self._street_types and word[0].isupper()
            if not (compound or english or key + m.group(2) in self._separate):
                continue
            begin = m.start()
            lead = self._before.search(text, max(0, begin - 80), begin)
            if lead is not None:
                begin = lead.start()
            elif not compound:
                continue  # a bare "Street 12" or "gate 4" needs the name before it
            yield begin, self._extend(text, m.end()), 0.75 if english else 0.9

    def _extend(self, text: str, end: int) -> int:
        for _ in range(6):
            m = self._tail.match(text, end)
            if m is None or m.end() - end > 60:
                break
            end = m.end()
        return end


_CUE_WORDS = ("live", "living", "resid", "address", "send", "sent", "ship", "deliver", "return",
              "located")


def _sentence_end(text: str, start: int) -> int:
    end = min(len(text), start + 120)
    for stop in (". ", "? ", "! ", ".\n", "?", "!", "\n\n"):
        found = text.find(stop, start, end)
        if found != -1:
            end = found
    return end if not text[start:end].endswith(".") else end - 1


def _has_capital_word(part: str) -> bool:
    return any(w[:1].isupper() and len(w) > 2 for w in part.split())


def _merge(spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Overlapping spans joined, keeping the best score."""
    out: list[tuple[int, int, float]] = []
    for start, end, score in sorted(spans):
        if out and start < out[-1][1]:
            prev = out[-1]
            out[-1] = (prev[0], max(prev[1], end), max(prev[2], score))
        else:
            out.append((start, end, score))
    return out
