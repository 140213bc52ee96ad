"""Confidential business data: financial figures, salaries, customer counts, deal terms,
board material and confidentiality markings.

A money amount alone is not confidential ("the train costs €40"); it becomes a finding
when a financial or pay word is near it. Deal and board vocabulary is specific enough on
its own. `business_detector(keywords)` returns the detector for a step's extra keywords
(patterns compiled once per keyword set); `detect_business_data` is the built-in one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from tappass.pipeline.step import Finding

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
_CUSTOMERS = (r"\b\d[\d,.]*\s?(?:k|m)?\+?\s+(?:paying |active |enterprise |new |churned |"
              r"paid |monthly active |daily active )?(?:customers|clients|subscribers|"
              r"accounts|logos|seats|mau|dau)\b")
_RATES = (r"\b(?:churn|retention|nrr|grr|net revenue retention|gross margin|win rate|"
          r"conversion rate|discount)\b[^.\n]{0,30}?\d+(?:\.\d+)?\s?%")
_DEALS = (r"\b(?:term sheet|letter of intent|loi|acquisition of|merger|m&a|purchase price|"
          r"valuation cap|pre-money|post-money|earn-?out|exclusivity period|due diligence|"
          r"share purchase agreement|definitive agreement|deal value|contract value|"
          r"total contract value|tcv|acv|non-binding offer|takeover|buyout)\b")
_BOARD = (r"\b(?:board (?:minutes|meeting|resolution|decision|deck|pack|materials?|"
          r"presentation|approval|vote)|board of directors|shareholder resolution|"
          r"executive session|investor update|cap table)\b")
_MARKINGS = (r"\b(?:strictly confidential|confidential|internal only|internal use only|"
             r"not for distribution|do not distribute|under nda|attorney[- ]client privileged|"
             r"material non-public information|mnpi|embargoed)\b")
_NEAR = 60   # characters either side of an amount searched for a pay or finance word


@dataclass(frozen=True, slots=True)
class _Patterns:
    amount: re.Pattern[str]
    pay: re.Pattern[str]
    finance: re.Pattern[str]
    phrases: tuple[tuple[str, re.Pattern[str], float, str], ...]
    keywords: re.Pattern[str] | None


@cache
def _patterns(keywords: tuple[str, ...]) -> _Patterns:
    words = r"\b(?:" + "|".join(re.escape(k.lower()) for k in keywords) + r")\b"
    return _Patterns(
        re.compile(_AMOUNT), re.compile(rf"\b(?:{_PAY_WORDS})\b"),
        re.compile(rf"\b(?:{_FINANCE_WORDS})\b"),
        (("CUSTOMER_COUNT", re.compile(_CUSTOMERS), 0.75, "customer or user count"),
         ("FINANCIAL_METRIC", re.compile(_RATES), 0.75, "business rate (churn, margin, ...)"),
         ("DEAL_TERMS", re.compile(_DEALS), 0.8, "deal or transaction terms"),
         ("BOARD_MATERIAL", re.compile(_BOARD), 0.85, "board-level material"),
         ("CONFIDENTIAL_MARKING", re.compile(_MARKINGS), 0.7, "confidentiality marking")),
        re.compile(words) if keywords else None)


def _amounts(lower: str, p: _Patterns) -> Iterator[Finding]:
    for match in p.amount.finditer(lower):
        window = lower[max(0, match.start() - _NEAR):match.end() + _NEAR]
        if p.pay.search(window):
            yield Finding("SALARY", match.start(), match.end(), 0.85,
                          "money amount next to pay or compensation words")
        elif p.finance.search(window):
            yield Finding("FINANCIAL_FIGURE", match.start(), match.end(), 0.8,
                          "money amount next to financial reporting words")


def _detect(text: str, p: _Patterns) -> list[Finding]:
    lower = text.lower()
    if len(lower) != len(text):
        lower = text
    found = list(_amounts(lower, p)) if any(c in lower for c in "$€£¥") or \
        any(w in lower for w in ("usd", "eur", "gbp", "chf", "dollar", "euro", "pound")) else []
    for kind, pattern, score, what in p.phrases:
        found.extend(Finding(kind, m.start(), m.end(), score, what)
                     for m in pattern.finditer(lower))
    if p.keywords is not None:
        found.extend(Finding("BUSINESS_KEYWORD", m.start(), m.end(), 0.8,
                             "configured confidential keyword")
                     for m in p.keywords.finditer(lower))
    return sorted(found, key=lambda f: f.start or 0)


def business_detector(keywords: tuple[str, ...] = ()) -> Callable[[str], list[Finding]]:
    """The detector with `keywords` added (matched as whole words, case-insensitively)."""
    def detect(text: str) -> list[Finding]:
        return _detect(text, _patterns(keywords))
    return detect


def detect_business_data(text: str) -> list[Finding]:
    return _detect(text, _patterns(()))
