from __future__ import annotations

import pytest

from tappass.policy.budget import Budget, budget_for
from tappass.policy.flags import FlagError, format_flags, parse_flags, validate_flags


@pytest.mark.parametrize("text, expected", [
    ("mode=observe", {"mode": "observe"}),
    ("mode=observe, pii=mask, email=internal:company.com",
     {"mode": "observe", "pii": "mask", "email": "internal:company.com"}),
    ("pii=mask,email=block", {"pii": "mask", "email": "block"}),
    (" budget = custom:0.5:10 ,", {"budget": "custom:0.5:10"}),
    ("MODE=enforce", {"mode": "enforce"}),
    ("", {}),
])
def test_parse_flags(text: str, expected: dict[str, str]) -> None:
    assert parse_flags(text) == expected


@pytest.mark.parametrize("text, message", [
    ("colour=blue", "unknown flag 'colour'"),
    ("mode=loud", "invalid value 'loud' for flag 'mode'"),
    ("email=internal:", "invalid value 'internal:' for flag 'email'"),
    ("budget=custom:1", "invalid value 'custom:1' for flag 'budget'"),
    ("mode", "malformed flag 'mode'"),
    ("pii=", "malformed flag 'pii='"),
])
def test_bad_flags_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(FlagError, match=message) as info:
        parse_flags(text)
    assert info.value.status == 400


def test_validate_flags_mapping_and_format_round_trip() -> None:
    flags = validate_flags({"pii": "mask", "mode": "observe"})
    assert parse_flags(format_flags(flags)) == flags
    with pytest.raises(FlagError, match="must be a string"):
        validate_flags({"mode": 1})


@pytest.mark.parametrize("flag, budget", [
    ("dev", Budget(0.10, 2.00)),
    ("unlimited", Budget(None, None)),
    ("custom:0.25:7.5", Budget(0.25, 7.5)),
])
def test_budget_tiers(flag: str, budget: Budget) -> None:
    assert budget_for(flag) == budget
