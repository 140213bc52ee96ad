"""Flag validation and admin locks: the exact refusals (issue 20)."""

from __future__ import annotations

import pytest

from tappass.policy.flags import (
    FlagError,
    FlagLocked,
    FlagLoosening,
    FlagPolicy,
    format_flags,
    merge_flags,
    parse_flags,
    validate_flag,
    validate_flags,
    validate_locked,
)


def refusal(call, *args: object) -> FlagError:  # type: ignore[no-untyped-def]
    with pytest.raises(FlagError) as info:
        call(*args)
    return info.value


def test_messages_name_the_flag_the_value_and_the_choices() -> None:
    error = refusal(validate_flag, " Colour ", "blue")
    assert str(error) == "unknown flag 'colour'; valid flags: mode, pii, email, budget"
    assert (error.field, error.code, error.status) == ("flags", "invalid_flag", 400)
    assert str(refusal(validate_flag, "mode", "loud")) == (
        "invalid value 'loud' for flag 'mode'; expected one of observe | enforce | off")
    assert str(refusal(validate_flag, "budget", "custom:1")) == (
        "invalid value 'custom:1' for flag 'budget'; expected one of dev | standard | "
        "unlimited | custom:<per_call>:<per_session>")
    assert str(refusal(parse_flags, "mode=observe, pii")) == \
        "malformed flag 'pii'; expected key=value"
    assert str(refusal(parse_flags, "=mask")) == "malformed flag '=mask'; expected key=value"
    assert str(refusal(validate_flags, {"mode": 1})) == "flag 'mode' must be a string, got int"


@pytest.mark.parametrize("key, value", [
    ("email", "internal:example.com"), ("email", "internal:a-b.example.co"),
    ("budget", "custom:0.5:10"), ("budget", "custom:1:2.25"), ("mode", " off "),
])
def test_pattern_values_are_accepted(key: str, value: str) -> None:
    assert validate_flag(key, value) == value.strip()


@pytest.mark.parametrize("key, value", [
    ("email", "internal:-bad.com"), ("email", "internal:nodot"), ("email", "xinternal:a.com"),
    ("budget", "custom:1:2:3"), ("budget", "custom:a:1"), ("mode", "internal:a.com"),
    ("pii", "custom:1:2"),
])
def test_values_matching_no_choice_or_pattern_are_refused(key: str, value: str) -> None:
    with pytest.raises(FlagError, match=f"invalid value {value!r} for flag {key!r}"):
        validate_flag(key, value)


def test_mapping_keys_are_normalised() -> None:
    assert validate_flags({" PII ": "mask"}) == {"pii": "mask"}
    assert parse_flags("PII=mask,,") == {"pii": "mask"}
    assert format_flags({"pii": "mask", "mode": "off"}) == "mode=off, pii=mask"


def test_locked_flags_must_be_known_flag_names() -> None:
    assert validate_locked(["pii", "mode", "pii"]) == ["mode", "pii"]
    error = refusal(validate_locked, ["pii", "colour"])
    assert str(error) == ("locked_flags: unknown flag 'colour'; valid flags: mode, pii, "
                          "email, budget")
    assert error.field == "locked_flags"
    for bad in ("pii", ["pii", 1], None):
        error = refusal(validate_locked, bad)
        assert str(error).startswith("locked_flags: expected a list of flag names")
        assert error.field == "locked_flags"


BASE = {"mode": "observe", "pii": "mask"}


def locked(*names: str, loosenable: tuple[str, ...] = ()) -> FlagPolicy:
    return FlagPolicy(locked=names, loosenable=loosenable, agent="bot")


def test_request_flags_override_unlocked_flags() -> None:
    policy = locked("mode", loosenable=("pii",))
    assert merge_flags(BASE, {"pii": "off", "budget": "dev"}, policy) == {
        "mode": "observe", "pii": "off", "budget": "dev"}
    assert merge_flags(BASE, {"mode": "observe"}, policy) == BASE  # same value: allowed
    with pytest.raises(FlagLoosening) as info:  # unlocked but not loosenable: refused
        merge_flags(BASE, {"pii": "off"}, locked("mode"))
    assert (info.value.key, info.value.status, info.value.code) == ("pii", 403, "flag_locked")


def test_a_locked_flag_may_only_be_made_stricter() -> None:
    assert merge_flags(BASE, {"mode": "enforce"}, locked("mode"))["mode"] == "enforce"
    with pytest.raises(FlagLocked) as info:
        merge_flags(BASE, {"mode": "off"}, locked("mode"))
    error = info.value
    assert type(error) is FlagLocked
    assert str(error).startswith(
        "flag 'mode' is locked to 'observe' for this agent by an administrator")
    assert "tappass agents unlock-flag bot mode" in str(error)
    assert (error.key, error.status, error.code, error.field) == (
        "mode", 403, "flag_locked", "X-TapPass-Flags")
    with pytest.raises(FlagLocked, match="'pii' is locked to 'mask'"):
        merge_flags(BASE, {"pii": "redact"}, locked("pii"))  # as strict, but changed: refused
    assert merge_flags(BASE, {"pii": "block"}, locked("pii"))["pii"] == "block"  # stricter
    with pytest.raises(FlagLocked) as info:
        merge_flags({}, {"pii": "off"}, locked("pii"))
    assert str(info.value).startswith(
        "flag 'pii' is locked for this agent by an administrator;")
    with pytest.raises(FlagLocked):  # looser even though loosening is allowed: locked wins
        merge_flags({"mode": "enforce"}, {"mode": "observe"}, locked("mode", loosenable=("mode",)))
    with pytest.raises(FlagLocked):
        merge_flags({}, {"mode": "enforce"}, locked("mode"))  # no current value to compare with


def test_every_locked_flag_is_checked_not_just_the_first() -> None:
    base = {"mode": "observe", "pii": "mask"}
    for requested in ({"mode": "observe", "pii": "off"},   # first unchanged
                      {"mode": "enforce", "pii": "off"},   # first made stricter
                      {"pii": "off"}):                      # first not requested
        with pytest.raises(FlagLocked, match="'pii' is locked"):
            merge_flags(base, requested, locked("mode", "pii", loosenable=("pii",)))


def test_empty_parts_anywhere_are_skipped() -> None:
    assert parse_flags("pii=mask,,mode=off") == {"pii": "mask", "mode": "off"}
    assert parse_flags(", ,pii=mask") == {"pii": "mask"}


def test_a_value_may_not_contain_another_key() -> None:
    assert str(refusal(parse_flags, "mode=off=on")) == (
        "invalid value 'off=on' for flag 'mode'; expected one of observe | enforce | off")
