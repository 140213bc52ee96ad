"""Data classification levels and what each kind of finding classifies a text as.

Levels, lowest first: PUBLIC < INTERNAL < CONFIDENTIAL < RESTRICTED < TOP_SECRET. A request
is classified at the highest level any of its findings reaches, and never below the
`classify_data` step's `default_level`. The table is data: (step, finding type) -> level,
with a per-step default for types not listed. A custom pattern carries its own level.
"""

from __future__ import annotations

from collections.abc import Iterable

from tappass.pipeline.options import LEVELS

RANK = {level: i for i, level in enumerate(LEVELS)}

# step -> (level of a type not listed, {type: level})
LEVEL_OF: dict[str, tuple[str, dict[str, str]]] = {
    "detect_pii": ("CONFIDENTIAL", {
        # identify one person alone and open accounts or borders: restricted
        "CREDIT_CARD": "RESTRICTED", "IBAN": "RESTRICTED", "US_SSN": "RESTRICTED",
        "PASSPORT": "RESTRICTED", "NATIONAL_ID": "RESTRICTED",
        "LOCATION": "INTERNAL"}),          # a place alone identifies no one
    "detect_secrets": ("RESTRICTED", {}),
    "detect_business_data": ("CONFIDENTIAL", {
        "BOARD_MATERIAL": "RESTRICTED", "BUSINESS_KEYWORD": "INTERNAL"}),
    "detect_infrastructure_data": ("INTERNAL", {"CONNECTION_STRING": "RESTRICTED"}),
}


def level_of(step: str, finding_type: str) -> str | None:
    """The level a finding of `step` classifies its text as (None: the step does not
    classify)."""
    entry = LEVEL_OF.get(step)
    if entry is None:
        return None
    default, levels = entry
    return levels.get(finding_type, default)


def highest(levels: Iterable[str], floor: str = "PUBLIC") -> str:
    return max((floor, *levels), key=RANK.__getitem__)
