"""Structured personal identifiers: emails, phones, cards, IBANs, SSNs, IPs, dates of birth.

Each finder is a small class whose patterns are compiled in `__init__` (once per detector
instance), called with a normalised text; it returns findings with a score that context
words raise or lower. Checksums and number plans come from maintained libraries
(`phonenumbers`, `python-stdnum`), never from hand-written validators.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from functools import lru_cache

import phonenumbers
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.us import itin as us_itin
from stdnum.us import ssn as us_ssn

from tappass.detect.context import Cues
from tappass.detect.windows import Windows, digit_windows
from tappass.pipeline.step import Finding

# regions tried for numbers written without a country code, most common first
PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "BE", "IT", "ES", "CH", "AT", "IE", "DK",
                 "SE", "NO", "FI", "PT", "PL", "CZ", "HU", "GR", "IS", "BR", "AU", "NZ", "CA")

_DATE = (r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
         r"|\d{1,2}(?:st|nd|rd|th)?\s+[A-Z][a-z]{2,8}\.?,?\s+\d{4}"
         r"|[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})")
_MONTHS = frozenset("jan feb mar apr may jun jul aug sep sept oct nov dec january february march "
                    "april june july august september october november december".split())


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


class EmailFinder:
    def __init__(self) -> None:
        self._re = re.compile(
            r"[A-Za-z0-9](?<![\w.+%-][A-Za-z0-9])[A-Za-z0-9._%+-]{0,63}@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")

    def __call__(self, text: str) -> Iterator[Finding]:
        at = text.find("@")
        end = -1
        while at != -1:
            if at > end:  # search around each "@": a local part is at most 64 characters
                end = min(len(text), at + 256)
                for m in self._re.finditer(text, max(0, at - 65), end):
                    end = max(end, m.end())
                    yield Finding("EMAIL", m.start(), m.end(), 0.95, "email address")
            at = text.find("@", at + 1)


class PhoneFinder:
    """Numbers shaped like phone numbers and valid in some numbering plan."""

    def __init__(self) -> None:
        self._re = re.compile(
            r"(?<![\w+/.:-])(?:(?:\+|00)\d{1,3}[ .-]?(?:\(0\)[ .-]?)?)?"
            r"(?:\(\d{1,5}\)[ .-]?)?(?:\d{1,5}(?:[ .-]\d{1,8}){1,5}|\d{6,15})(?![\w/:]|[.-]\d)")
        self._date = re.compile(_DATE)
        # a conversation re-sends its history every turn: validate each number once
        self._valid = lru_cache(maxsize=4096)(_valid_phone)
        self._postcode = re.compile(r"\d{4}-\d{3}|\d{3} \d{2}|\d{2}-\d{3}")  # PT, SE/CZ, PL
        self._cues = Cues.of("phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text me|"
                             "reach me|contact|dial|number|ring|answering|téléphone|telefon|"
                             "tlf|puh|mob|office|desk|fax|home|work",
                             "order|invoice|ticket|ref|reference|id|version|tracking|serial|"
                             "account|acct|zip|postcode|$|€|£|usd|eur|kg|km|licen|license|ssn|"
                             "social security|card|iban|passport|"
                             "licence|suite|apt|box|unit", before=30, after=10)

    def __call__(self, text: str) -> Iterator[Finding]:
        return self.find(text, digit_windows(text))

    def find(self, text: str, windows: Windows) -> Iterator[Finding]:
        for m in _matches(self._re, text, windows):
            finding = self._check(text, m.group(), m.start(), m.end())
            if finding is not None:
                yield finding

    def _check(self, text: str, raw: str, start: int, end: int) -> Finding | None:
        digits = _digits(raw)
        if not 7 <= len(digits) <= 15 or self._date.fullmatch(raw):
            return None
        if _looks_like_ip_or_version(raw):
            return None
        separated = digits != raw
        if self._postcode.fullmatch(raw) and not self._cues.has_positive(text, start, end):
            return None
        international = raw.startswith(("+", "00"))
        if not separated and not international and not self._cues.has_positive(text, start, end):
            return None  # a bare run of digits is an order number until context says otherwise
        valid = self._valid(raw, international)
        if not valid and not self._cues.has_positive(text, start, end):
            return None
        score = (0.75 if separated else 0.5) if valid else 0.45
        if international and valid:
            score = 0.9
        score = self._cues.adjust(text, start, end, score, down=0.5)
        return Finding("PHONE", start, end, score, "phone number")


def _matches(pattern: re.Pattern[str], text: str, windows: Windows) -> Iterator[re.Match[str]]:
    for start, end in windows:
        yield from pattern.finditer(text, start, end)


def _looks_like_ip_or_version(raw: str) -> bool:
    parts = raw.split(".")
    return len(parts) in (3, 4) and all(p.isdigit() and len(p) <= 3 for p in parts) and \
        not all(len(p) == 2 for p in parts)


def _valid_phone(raw: str, international: bool) -> bool:
    candidate = raw.replace("(0)", "")
    if international:
        if candidate.startswith("00"):
            candidate = "+" + candidate[2:]
        return _valid_in(candidate, None)
    return any(_valid_in(candidate, region) for region in PHONE_REGIONS)


def _valid_in(candidate: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


class CardFinder:
    """Payment card numbers: 12-19 digits passing the Luhn check."""

    def __init__(self) -> None:
        self._re = re.compile(r"\d(?<![\w.-]\d)(?:[ -]?\d){11,18}(?![\w-]|\.\d)")
        self._iin = re.compile(r"4|5[1-5]|2[2-7]|3[47]|3[0689]|35|6|50|5[6-8]")
        self._cues = Cues.of("card|credit|debit|visa|mastercard|amex|maestro|cc|pan|payment",
                             "order|invoice|tracking|ticket|ref|reference|serial|imei|phone|"
                             "tel|account no|barcode|ean|isbn", before=40)

    def __call__(self, text: str) -> Iterator[Finding]:
        return self.find(text, digit_windows(text))

    def find(self, text: str, windows: Windows) -> Iterator[Finding]:
        for m in _matches(self._re, text, windows):
            digits = _digits(m.group())
            if not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
                continue
            if len(set(digits)) == 1:
                continue  # 0000 0000 0000 0000 and friends
            known = bool(self._iin.match(digits))
            score = 0.85 if known and len(digits) >= 13 else 0.4
            score = self._cues.adjust(text, m.start(), m.end(), score, up=0.25, down=0.45)
            yield Finding("CREDIT_CARD", m.start(), m.end(), score, "card number (Luhn)")


class IbanFinder:
    def __init__(self) -> None:
        self._re = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]){11,30}"
                              r"(?![A-Za-z0-9])")

    def __call__(self, text: str) -> Iterator[Finding]:
        return self.find(text, digit_windows(text))

    def find(self, text: str, windows: Windows) -> Iterator[Finding]:
        for m in _matches(self._re, text, windows):
            value = m.group().rstrip()
            if std_iban.is_valid(value):
                yield Finding("IBAN", m.start(), m.start() + len(value), 0.95, "IBAN (mod 97)")


class SsnFinder:
    """US social security numbers (and ITINs), validated by python-stdnum."""

    def __init__(self) -> None:
        self._re = re.compile(r"(\d(?<![\w-]\d)\d\d)([- ]?)(\d{2})\2(\d{4})(?![\w-]|\.\d)")
        self._cues = Cues.of("ssn|social security|social sec|ss#|ss no|itin|taxpayer",
                             "phone|tel|order|invoice|ref|account|zip|routing|license|licence",
                             before=40)

    def __call__(self, text: str) -> Iterator[Finding]:
        return self.find(text, digit_windows(text))

    def find(self, text: str, windows: Windows) -> Iterator[Finding]:
        for m in _matches(self._re, text, windows):
            digits = m.group(1) + m.group(3) + m.group(4)
            if not (us_ssn.is_valid(digits) or us_itin.is_valid(digits)):
                continue
            base = {"-": 0.85, " ": 0.55, "": 0.3}[m.group(2)]
            score = self._cues.adjust(text, m.start(), m.end(), base, up=0.5 if not
                                      m.group(2) else 0.15)
            yield Finding("US_SSN", m.start(), m.end(), score, "US social security number")


class IpFinder:
    def __init__(self) -> None:
        octet = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
        self._v4 = re.compile(rf"(?<![\w.]){octet}(?:\.{octet}){{3}}(?![\w]|\.\d)")
        self._v6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
        self._cues = Cues.of("ip|address|host|server|client|from|login|connected",
                             "version|ver|v|release|build|oid|snmp|firmware", before=25)

    def __call__(self, text: str) -> Iterator[Finding]:
        return self.find(text, digit_windows(text))

    def find(self, text: str, windows: Windows) -> Iterator[Finding]:
        if "." in text:
            for m in _matches(self._v4, text, windows):
                score = self._cues.adjust(text, m.start(), m.end(), 0.85, up=0.1, down=0.6)
                yield Finding("IP_ADDRESS", m.start(), m.end(), score, "IPv4 address")
        if "::" in text or text.count(":") >= 5:
            for m in self._v6.finditer(text):
                if _is_ipv6(m.group()):
                    yield Finding("IP_ADDRESS", m.start(), m.end(), 0.85, "IPv6 address")


def _is_ipv6(value: str) -> bool:
    if value.count(":") < 3 and "::" not in value:
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


class BirthDateFinder:
    """Dates next to words saying they are a date of birth."""

    def __init__(self) -> None:
        self._re = re.compile(rf"(?<![\w/.-]){_DATE}(?![\w/-]|\.\d)")
        self._cues = Cues.of("born|birth|birthday|dob|d.o.b|date of birth|birthdate|"
                             "geboren|geburtsdatum|né|née|date de naissance|nacido|nato|"
                             "fecha de nacimiento|data di nascita|födelsedatum|age",
                             before=35)

    def __call__(self, text: str) -> Iterator[Finding]:
        return self.find(text, digit_windows(text))

    def find(self, text: str, windows: Windows) -> Iterator[Finding]:
        for m in _matches(self._re, text, windows):
            if self._cues.has_positive(text, m.start(), m.end()) and _plausible_date(m.group()):
                yield Finding("DATE_OF_BIRTH", m.start(), m.end(), 0.85, "date of birth")


def _plausible_date(value: str) -> bool:
    words = re.findall(r"[A-Za-z]+", value)
    return all(w.lower().rstrip(".") in _MONTHS or w in ("st", "nd", "rd", "th") for w in words)
