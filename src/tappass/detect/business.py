"""Confidential business data: financial figures, salaries, customer counts, deal terms,
board material and confidentiality markings.

A money amount alone is not confidential ("the train costs €40"); it becomes a finding
when a financial or pay word is near it. Deal and board vocabulary is specific enough on
its own. `business_detector(keywords)` returns the detector for a step's extra keywords;
`detect_business_data` is the built-in one. Every search is gated by a cheap substring
check or anchored on a literal (a currency sign, a `%`, a noun), so prose without any of
them costs a few substring searches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from tappass.detect._phrases import find_phrases, occurrences, words_of
from tappass.detect.scan import outermost
from tappass.pipeline.step import Finding

_CURRENCY_SIGNS = ("$", "€", "£", "¥")
_CURRENCY_WORDS = frozenset({b"usd", b"eur", b"gbp", b"chf", b"dollar", b"dollars", b"euro",
                             b"euros", b"pound", b"pounds"})
_AMOUNT = (r"(?:[$€£¥]\s?\d[\d,.]*(?:\s?(?:k|m|mm|bn|b|million|billion|thousand)\b)?"
           r"|\b\d[\d,.]*\s?(?:k|m|mm|bn|million|billion|thousand)?\s?(?:usd|eur|gbp|chf|"
           r"dollars|euros|pounds)\b)")
_PAY_WORDS = (r"salar(?:y|ies)|compensation|base pay|pay rise|pay raise|bonus(?:es)?|"
              r"payroll|wages?|per annum|annual pay|earns|stock options|rsus?|equity grant|"
              r"severance|comp band|pay band|signing bonus|offer letter")
_FINANCE_WORDS = (r"revenue|arr|mrr|ebitda|profit|margin|net income|gross|forecast|guidance|"
                  r"earnings|burn rate|burn|runway|valuation|bookings|cash flow|cash balance|"
                  r"p&l|operating income|opex|capex|budget|fy\d{2,4}|q[1-4]\s?(?:20)?\d{2}|"
                  r"quarterly results|loss|debt|funding round|series [a-f]|raised")
_NOUNS = ("customers", "clients", "subscribers", "accounts", "logos", "seats", "mau", "dau")
_NOUN_WORDS = tuple((noun, noun.encode()) for noun in _NOUNS)
_CUSTOMERS = (r"\b\d[\d,.]*\s?(?:k|m)?\+?\s+(?:paying |active |enterprise |new |churned |"
              r"paid |monthly active |daily active )?(?:customers|clients|subscribers|"
              r"accounts|logos|seats|mau|dau)\b")
_RATES = (r"\b(?:churn|retention|nrr|grr|net revenue retention|gross margin|win rate|"
          r"conversion rate|discount)\b[^.\n]{0,30}?\d+(?:\.\d+)?\s?%")
_NEAR = 60   # characters around an amount searched for a pay or finance word

DEALS = ("term sheet", "letter of intent", "loi", "acquisition of", "merger", "m&a",
         "purchase price", "valuation cap", "pre-money", "post-money", "earn-out", "earnout",
         "exclusivity period", "due diligence", "share purchase agreement",
         "definitive agreement", "deal value", "contract value", "total contract value",
         "tcv", "acv", "non-binding offer", "takeover", "buyout")
BOARD = tuple(f"board {w}" for w in ("minutes", "meeting", "resolution", "decision", "deck",
                                      "pack", "material", "materials", "presentation",
                                      "approval", "vote")) + (
    "board of directors", "shareholder resolution", "executive session", "investor update",
    "cap table")
MARKINGS = ("strictly confidential", "confidential", "internal only", "internal use only",
            "not for distribution", "do not distribute", "under nda",
            "attorney-client privileged", "attorney client privileged",
            "material non-public information", "mnpi", "embargoed")
_PHRASES = (("DEAL_TERMS", DEALS, 0.8, "deal or transaction terms"),
            ("BOARD_MATERIAL", BOARD, 0.85, "board-level material"),
            ("CONFIDENTIAL_MARKING", MARKINGS, 0.7, "confidentiality marking"))


@dataclass(frozen=True, slots=True)
class _Patterns:
    amount: re.Pattern[str]
    pay: re.Pattern[str]
    finance: re.Pattern[str]
    customers: re.Pattern[str]
    rates: re.Pattern[str]
    keywords: tuple[str, ...]


@cache
def _patterns(keywords: tuple[str, ...]) -> _Patterns:
    return _Patterns(re.compile(_AMOUNT), re.compile(rf"\b(?:{_PAY_WORDS})\b"),
                     re.compile(rf"\b(?:{_FINANCE_WORDS})\b"), re.compile(_CUSTOMERS),
                     re.compile(_RATES), tuple(k.lower() for k in keywords))


def _amounts(lower: str, words: frozenset[bytes], p: _Patterns) -> Iterator[Finding]:
    if not any(sign in lower for sign in _CURRENCY_SIGNS) and not (
            words & _CURRENCY_WORDS or "usd" in lower or "eur" in lower):
        return
    for match in p.amount.finditer(lower):
        window = lower[max(0, match.start() - _NEAR):match.end() + _NEAR]
        if p.pay.search(window):
            yield Finding("SALARY", match.start(), match.end(), 0.85,
                          "money amount next to pay or compensation words")
        elif p.finance.search(window):
            yield Finding("FINANCIAL_FIGURE", match.start(), match.end(), 0.8,
                          "money amount next to financial reporting words")


def _anchored(lower: str, anchors: Iterator[int], pattern: re.Pattern[str], before: int,
              after: int) -> Iterator[re.Match[str]]:
    """Matches of `pattern` in a window around each anchor position (deduplicated)."""
    last_end = -1
    for at in anchors:
        for match in pattern.finditer(lower, max(0, at - before), at + after):
            if match.start() >= last_end:
                last_end = match.end()
                yield match


def _counts_and_rates(lower: str, words: frozenset[bytes],
                      p: _Patterns) -> Iterator[Finding]:
    anchors = sorted(at for noun, word in _NOUN_WORDS if word in words
                     for at in occurrences(lower, noun))
    for match in _anchored(lower, iter(anchors), p.customers, 40, 20):
        yield Finding("CUSTOMER_COUNT", match.start(), match.end(), 0.75,
                      "customer or user count")
    for match in _anchored(lower, occurrences(lower, "%"), p.rates, 70, 1):
        yield Finding("FINANCIAL_METRIC", match.start(), match.end(), 0.75,
                      "business rate (churn, margin, ...)")


def _detect(text: str, p: _Patterns) -> list[Finding]:
    lower = text.lower()
    if len(lower) != len(text):
        lower = text
    words = words_of(lower)
    found = [*_amounts(lower, words, p), *_counts_and_rates(lower, words, p)]
    for kind, phrases, score, what in _PHRASES:
        found.extend(Finding(kind, s, e, score, what)
                     for s, e in find_phrases(lower, phrases, words))
    found.extend(Finding("BUSINESS_KEYWORD", s, e, 0.8, "configured confidential keyword")
                 for s, e in find_phrases(lower, p.keywords, words))
    return outermost(found)


def business_detector(keywords: tuple[str, ...] = ()) -> Callable[[str], list[Finding]]:
    """The detector with `keywords` added (matched as whole words, case-insensitively)."""
    def detect(text: str) -> list[Finding]:
        return _detect(text, _patterns(keywords))
    return detect


def detect_business_data(text: str) -> list[Finding]:
    return _detect(text, _patterns(()))
