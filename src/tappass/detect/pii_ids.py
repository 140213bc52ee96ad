"""National identity and passport numbers for the common EU countries, the UK and the US.

Every scheme with a checksum is validated by python-stdnum. Schemes whose format is
distinctive on its own (an Italian codice fiscale, a Swedish personnummer with its dash)
are findings without context; bare digit runs (a Dutch BSN, a Polish PESEL) only count
next to a word naming the scheme, since any order number could pass an 11-proof.
Passports have no public checksum for most countries: only a passport word makes one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stdnum.be import nn as be_nn
from stdnum.bg import egn as bg_egn
from stdnum.cz import rc as cz_rc
from stdnum.de import idnr as de_idnr
from stdnum.dk import cpr as dk_cpr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fi import hetu as fi_hetu
from stdnum.fr import nir as fr_nir
from stdnum.gb import nhs as gb_nhs
from stdnum.ie import pps as ie_pps
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn
from stdnum.no import fodselsnummer as no_fnr
from stdnum.pl import pesel as pl_pesel
from stdnum.pt import cc as pt_cc
from stdnum.ro import cnp as ro_cnp
from stdnum.se import personnummer as se_pnr

from tappass.detect.context import Cues
from tappass.detect.windows import Windows, digit_windows
from tappass.pipeline.step import Finding

_ID_WORDS = ("national id|national identity|identity number|id number|id no|id card|"
             "personal number|personal id|citizen|identification|social security|tax id|"
             "identity card")


@dataclass(frozen=True, slots=True)
class Scheme:
    name: str
    pattern: str
    is_valid: Callable[[str], bool]
    words: str = ""          # words naming the scheme; required when `needs_context`
    needs_context: bool = False
    score: float = 0.8


def _nino(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    return compact[:2] not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ")


SCHEMES: tuple[Scheme, ...] = (
    Scheme("UK National Insurance number",
           r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]", _nino,
           "national insurance|nino|ni number|ni no"),
    Scheme("UK NHS number", r"\d{3}[ -]?\d{3}[ -]?\d{4}", gb_nhs.is_valid, "nhs",
           needs_context=True),
    Scheme("Italian codice fiscale", r"[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]",
           it_cf.is_valid, "codice fiscale|cf", score=0.9),
    Scheme("Spanish DNI", r"\d{8}-?[A-Z]", es_dni.is_valid, "dni|nif"),
    Scheme("Spanish NIE", r"[XYZ]-?\d{7}-?[A-Z]", es_nie.is_valid, "nie"),
    Scheme("French NIR", r"[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}",
           fr_nir.is_valid, "sécurité sociale|securite sociale|nir|insee"),
    Scheme("Swedish personnummer", r"(?:19|20)?\d{6}[-+]\d{4}", se_pnr.is_valid,
           "personnummer"),
    Scheme("Finnish HETU", r"\d{6}[-+A-FU-Y]\d{3}[0-9A-FHJ-NPR-Y]", fi_hetu.is_valid,
           "hetu|henkilötunnus", score=0.85),
    Scheme("Czech/Slovak birth number", r"\d{6}/\d{3,4}", cz_rc.is_valid,
           "rodné číslo|rodne cislo|birth number"),
    Scheme("Belgian national number", r"\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}", be_nn.is_valid,
           "rijksregister|registre national|national number"),
    Scheme("Belgian national number", r"\d{11}", be_nn.is_valid,
           "rijksregister|registre national|national number|nn", needs_context=True),
    Scheme("Danish CPR number", r"\d{6}-?\d{4}", dk_cpr.is_valid, "cpr|personnummer",
           needs_context=True),
    Scheme("Dutch BSN", r"\d{4}\.?\d{2}\.?\d{3}|\d{9}", nl_bsn.is_valid,
           "bsn|burgerservicenummer|sofinummer|sofi", needs_context=True),
    Scheme("German tax id", r"\d{2} ?\d{3} ?\d{3} ?\d{3}", de_idnr.is_valid,
           "steuer-id|steueridentifikationsnummer|idnr|steuerliche identifikationsnummer|"
           "tax id", needs_context=True),
    Scheme("Polish PESEL", r"\d{11}", pl_pesel.is_valid, "pesel", needs_context=True),
    Scheme("Norwegian fødselsnummer", r"\d{6} ?\d{5}", no_fnr.is_valid,
           "fødselsnummer|fodselsnummer|personnummer", needs_context=True),
    Scheme("Romanian CNP", r"\d{13}", ro_cnp.is_valid, "cnp", needs_context=True),
    Scheme("Bulgarian EGN", r"\d{10}", bg_egn.is_valid, "egn|егн", needs_context=True),
    Scheme("Irish PPS number", r"\d{7}[A-W][ABWTXZ]?", ie_pps.is_valid, "pps|ppsn",
           needs_context=True),
    Scheme("Portuguese citizen card", r"\d{8} ?\d ?[A-Z]{2}\d", pt_cc.is_valid,
           "cartão de cidadão|cartao de cidadao|cc", needs_context=True),
)


class NationalIdFinder:
    def __init__(self) -> None:
        self._schemes = [(s, re.compile(rf"(?<![\w.-])(?:{s.pattern})(?![\w-]|\.\d)"),
                          Cues.of(f"{s.words}|{_ID_WORDS}" if s.words else _ID_WORDS,
                                  "order|invoice|tracking|ref|phone|tel", before=40))
                         for s in SCHEMES]

    def __call__(self, text: str) -> Iterator[Finding]:
        return self.find(text, digit_windows(text))

    def find(self, text: str, windows: Windows) -> Iterator[Finding]:
        for scheme, pattern, cues in self._schemes:
            for m in (m for s, e in windows for m in pattern.finditer(text, s, e)):
                if not scheme.is_valid(m.group()):
                    continue
                near = cues.has_positive(text, m.start(), m.end())
                if scheme.needs_context and not near:
                    continue
                score = cues.adjust(text, m.start(), m.end(), scheme.score, up=0.15)
                yield Finding("NATIONAL_ID", m.start(), m.end(), score, scheme.name)


class PassportFinder:
    """Passport numbers: 6-9 letters and digits right after a passport word."""

    def __init__(self) -> None:
        self._re = re.compile(
            r"(?i:passport|passeport|reisepass|pasaporte|passaporto|paspoort|pass)"
            r"(?i:\s*(?:no\.?|number|num\.?|nr\.?|nummer|numéro|#|id))?\s*(?:is\s+)?[:#]?\s*"
            r"([A-Z0-9]{6,9})(?![\w-])")

    def __call__(self, text: str) -> Iterator[Finding]:
        if "pas" not in text.lower():
            return
        for m in self._re.finditer(text):
            value = m.group(1)
            if any(c.isdigit() for c in value) and sum(c.isdigit() for c in value) >= 5:
                yield Finding("PASSPORT", m.start(1), m.end(1), 0.85, "passport number")
