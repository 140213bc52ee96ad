"""Which request flags make governance stricter or looser, and what a request may set."""

from __future__ import annotations

import pytest

from tappass.policy.flags import (
    Change,
    FlagError,
    FlagLocked,
    FlagLoosening,
    FlagPolicy,
    check_flag,
    compare,
    loosened_flags,
    merge_flags,
    needs_allowance,
    validate_loosenable,
)

S, SAME, L = Change.STRICTER, Change.SAME, Change.LOOSER


@pytest.mark.parametrize("key, requested, current, change", [
    # mode: off < observe < enforce; unset is enforce
    ("mode", "enforce", "observe", S), ("mode", "observe", "off", S),
    ("mode", "observe", "enforce", L), ("mode", "off", "observe", L),
    ("mode", "off", None, L), ("mode", "enforce", None, SAME), ("mode", "observe", "observe", SAME),
    # pii: off < mask = redact = tokenize < block; unset protects (mask level)
    ("pii", "block", "mask", S), ("pii", "tokenize", "off", S), ("pii", "block", None, S),
    ("pii", "redact", "mask", SAME), ("pii", "mask", None, SAME),
    ("pii", "mask", "block", L), ("pii", "off", "redact", L), ("pii", "off", None, L),
    # email: allow < internal:<domain> < block; another domain is looser
    ("email", "block", "internal:company.com", S), ("email", "internal:company.com", "allow", S),
    ("email", "block", None, S),
    ("email", "internal:company.com", "internal:Company.COM", SAME),
    ("email", "internal:company.com", None, SAME),
    ("email", "allow", "block", L), ("email", "allow", "internal:company.com", L),
    ("email", "internal:evil.example", "internal:company.com", L),
    ("email", "internal:company.com", "block", L), ("email", "allow", None, L),
    ("email", "mirror:audit@company.com", "allow", S), ("email", "block", "mirror:a@b.com", S),
    ("email", "mirror:audit@company.com", "mirror:AUDIT@Company.com", SAME),
    ("email", "mirror:me@evil.example", "mirror:audit@company.com", L),
    ("email", "mirror:audit@company.com", "internal:company.com", L),
    ("email", "allow", "mirror:audit@company.com", L),
    # budget: by caps (per call, per session); dev 0.10/2, standard 2/50
    ("budget", "dev", "standard", S), ("budget", "custom:1:10", "standard", S),
    ("budget", "standard", "unlimited", S), ("budget", "custom:2:50", "standard", SAME),
    ("budget", "unlimited", "standard", L), ("budget", "standard", "dev", L),
    ("budget", "custom:5:1", "standard", L),      # per call above
    ("budget", "custom:1:100", "standard", L),    # per session above
    ("budget", "unlimited", None, SAME),          # no budget step: nothing to loosen
])
def test_compare(key: str, requested: str, current: str | None, change: Change) -> None:
    assert compare(key, requested, current) is change


@pytest.mark.parametrize("key, requested, needed", [
    ("mode", "off", True), ("mode", "observe", False),
    ("pii", "off", True), ("pii", "mask", False), ("pii", "redact", False),
    ("pii", "tokenize", False),
    ("email", "allow", True), ("email", "internal:evil.example", True),
    ("budget", "unlimited", True), ("budget", "custom:5:5", True), ("budget", "standard", True),
])
def test_which_loosenings_need_the_admins_allowance(key: str, requested: str,
                                                    needed: bool) -> None:
    assert needs_allowance(key, requested) is needed


DEFAULT = FlagPolicy(agent="bot")


@pytest.mark.parametrize("key, requested, current, policy, refusal", [
    # by default: the four escapes are refused, the protective loosenings pass
    ("mode", "off", "enforce", DEFAULT, FlagLoosening),
    ("pii", "off", None, DEFAULT, FlagLoosening),
    ("email", "allow", "block", DEFAULT, FlagLoosening),
    ("budget", "unlimited", "standard", DEFAULT, FlagLoosening),
    ("budget", "custom:0.5:60", "standard", DEFAULT, FlagLoosening),
    ("mode", "observe", "enforce", DEFAULT, None),
    ("pii", "mask", "block", DEFAULT, None),
    ("mode", "enforce", "off", DEFAULT, None),
    ("budget", "dev", "standard", DEFAULT, None),
    # the admin's allowance
    ("mode", "off", "enforce", FlagPolicy(loosenable=["mode"]), None),
    ("budget", "unlimited", "dev", FlagPolicy(loosenable=["budget"]), None),
    ("email", "allow", "block", FlagPolicy(loosenable=["budget"]), FlagLoosening),
    # locked: only stricter or equal, whatever the allowance
    ("mode", "observe", "enforce", FlagPolicy(locked=["mode"]), FlagLocked),
    ("mode", "off", "enforce", FlagPolicy(locked=["mode"], loosenable=["mode"]), FlagLocked),
    ("pii", "redact", "mask", FlagPolicy(locked=["pii"]), FlagLocked),
    ("pii", "block", "mask", FlagPolicy(locked=["pii"]), None),
    ("email", "block", "allow", FlagPolicy(locked=["email"]), None),
    ("budget", "dev", "unlimited", FlagPolicy(locked=["budget"]), None),
    ("mode", "enforce", "enforce", FlagPolicy(locked=["mode"]), None),
])
def test_check_flag(key: str, requested: str, current: str | None, policy: FlagPolicy,
                    refusal: type[Exception] | None) -> None:
    if refusal is None:
        check_flag(key, requested, current, policy)
        return
    with pytest.raises(refusal) as info:
        check_flag(key, requested, current, policy)
    assert type(info.value) is refusal


def test_a_refused_loosening_names_the_flag_and_the_fix() -> None:
    with pytest.raises(FlagLoosening) as info:
        check_flag("budget", "unlimited", "dev", DEFAULT)
    error = info.value
    assert (error.status, error.code, error.field) == (403, "flag_locked", "X-TapPass-Flags")
    message = str(error)
    assert "flag budget=unlimited would loosen" in message and "budget is dev" in message
    assert "loosenable_flags (PATCH /v1/agents/bot)" in message
    assert "tappass agents allow-loosening bot budget" in message


def test_a_locked_flag_names_the_fix() -> None:
    with pytest.raises(FlagLocked) as info:
        check_flag("mode", "observe", "enforce", FlagPolicy(locked=["mode"], agent="bot"))
    assert "'mode' is locked to 'enforce'" in str(info.value)
    assert "tappass agents unlock-flag bot mode" in str(info.value)


def test_a_refusal_echoes_only_a_short_prefix_of_the_value() -> None:
    value = "custom:" + "9" * 500 + ":1"
    with pytest.raises(FlagLoosening) as info:
        check_flag("budget", value, "dev", DEFAULT)
    assert "9" * 41 not in str(info.value) and len(str(info.value)) < 400


def test_merge_flags_uses_the_pipelines_default_budget_when_unset() -> None:
    base = {"mode": "enforce"}
    with pytest.raises(FlagLoosening, match="budget is standard"):
        merge_flags(base, {"budget": "unlimited"}, DEFAULT, default_budget="standard")
    assert merge_flags(base, {"budget": "dev", "mode": "observe"}, DEFAULT,
                       default_budget="standard") == {"mode": "observe", "budget": "dev"}


@pytest.mark.parametrize("flags, expected", [
    ({"mode": "enforce", "pii": "mask"}, []),
    ({"mode": "observe", "pii": "mask"}, ["mode"]),
    ({"mode": "off", "pii": "off", "email": "allow", "budget": "unlimited"},
     ["budget", "email", "mode", "pii"]),
    ({"mode": "enforce", "pii": "block", "budget": "dev"}, []),
])
def test_loosened_flags(flags: dict[str, str], expected: list[str]) -> None:
    base = {"mode": "enforce", "pii": "mask"}
    assert loosened_flags(base, flags, default_budget="standard") == expected


def test_validate_loosenable_names_the_bad_input() -> None:
    assert validate_loosenable(["mode", "budget", "mode"]) == ["budget", "mode"]
    with pytest.raises(FlagError, match="loosenable_flags: unknown flag 'colour'"):
        validate_loosenable(["colour"])
    with pytest.raises(FlagError, match="loosenable_flags: expected a list"):
        validate_loosenable("mode")


def test_a_refusal_shows_a_value_of_up_to_40_characters_whole() -> None:
    def shown(value: str) -> str:
        with pytest.raises(FlagLoosening) as info:
            check_flag("budget", value, "dev", DEFAULT)
        return str(info.value).split(" would loosen")[0].removeprefix("flag budget=")

    forty = "custom:1:" + "1" * 31
    assert shown(forty) == forty
    assert shown(forty + "1") == forty + "..."


def test_a_budget_the_agent_sets_is_compared_not_the_pipelines_default() -> None:
    base = {"budget": "dev"}
    with pytest.raises(FlagLoosening, match="budget is dev for it"):
        merge_flags(base, {"budget": "standard"}, DEFAULT, default_budget="unlimited")
    assert loosened_flags(base, {"budget": "standard"}, default_budget="unlimited") == \
        ["budget"]
    assert loosened_flags({}, {"budget": "standard"}, default_budget="unlimited") == []
    with pytest.raises(FlagLoosening, match=r"\(mode is not set for it, so the pipeline's"):
        merge_flags({"budget": "dev"}, {"mode": "off"}, DEFAULT, default_budget="standard")
