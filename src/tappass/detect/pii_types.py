"""The personal-data types the PII detector reports (also the mask placeholders' names)."""

from __future__ import annotations

PII_TYPES: tuple[str, ...] = (
    "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "DATE_OF_BIRTH",
    "PASSPORT", "NATIONAL_ID", "ADDRESS", "PERSON", "LOCATION")
