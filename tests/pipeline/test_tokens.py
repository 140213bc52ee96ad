"""The token format and restoring tokens in text, in JSON arguments and in split streams."""

from __future__ import annotations

import json

import pytest

from tappass.pipeline.steps.pii_restore import json_escape
from tappass.pipeline.tokens import (
    MAX_TOKEN_CHARS,
    TOKEN_RE,
    TokenStream,
    find_tokens,
    make_token,
    partial_token_suffix,
    restore_chunks,
    restore_tokens,
    token_type,
)

EMAIL = "[TOKEN_EMAIL_3f9a2c1d]"
PERSON = "[TOKEN_PERSON_00ff00aa]"
VALUES = {EMAIL: "john@example.com", PERSON: "John Smith"}
LONGEST = make_token("X" * 40, "deadbeef")


@pytest.mark.parametrize(("kind", "expected"), [
    ("EMAIL", "EMAIL"), ("credit-card", "CREDIT_CARD"), ("employee id", "EMPLOYEE_ID"),
    ("X" * 40, "X" * 32), ("", "PII")])
def test_token_type_uppercases_and_replaces_other_characters(kind: str, expected: str) -> None:
    assert token_type(kind) == expected


def test_format_and_longest_token() -> None:
    assert make_token("email", "3f9a2c1d") == EMAIL
    assert TOKEN_RE.fullmatch(EMAIL) and TOKEN_RE.fullmatch(LONGEST)
    assert len(LONGEST) == MAX_TOKEN_CHARS
    with pytest.raises(ValueError):
        make_token("EMAIL", "3F9A2C1D")


@pytest.mark.parametrize(("text", "expected"), [
    (f"mail {EMAIL} now", "mail john@example.com now"),
    (f"{PERSON}{EMAIL}", "John Smithjohn@example.com"),
    ("[TOKEN_EMAIL_99999999] stays", "[TOKEN_EMAIL_99999999] stays"),   # unknown
    ("[TOKEN_email_3f9a2c1d] is no token", "[TOKEN_email_3f9a2c1d] is no token"),
    ("no tokens", "no tokens")])
def test_restore_tokens(text: str, expected: str) -> None:
    assert restore_tokens(text, VALUES.get) == expected


def test_a_mapping_is_a_lookup_too() -> None:
    assert restore_tokens(f"to {EMAIL}", VALUES) == "to john@example.com"
    assert "".join(restore_chunks(["to [TOKEN_EM", "AIL_3f9a2c1d]"], VALUES)) == \
        "to john@example.com"


def test_restoring_into_json_arguments_keeps_them_valid() -> None:
    values = {EMAIL: 'Ann "the boss" \\ <a@b.io>'}
    arguments = json.dumps({"to": EMAIL})
    restored = restore_tokens(arguments, values.get, json_escape)
    assert json.loads(restored) == {"to": values[EMAIL]}


@pytest.mark.parametrize(("text", "held"), [
    ("hello", 0), ("hello [", 1), ("a [TOK", 4), ("a [TOKEN_", 7), ("a [TOKEN_EMA", 10),
    ("x [TOKEN_EMAIL_3f9a", 17), ("x [TOKEN_EMAIL_3f9a2c1d", 21),
    (f"x {EMAIL}", 0),                       # complete: nothing to wait for
    ("x [TOKEN_email", 0), ("[TOKEN_EMAIL_3f9a2c1dX", 0), ("[link] [T", 2),
    ("[T [TOKEN_A", 8), ("[" + "A" * 60, 0)])
def test_partial_token_suffix(text: str, held: int) -> None:
    assert partial_token_suffix(text) == held


def test_a_token_split_at_every_position_is_restored() -> None:
    text = f"Hi {PERSON}, write to {EMAIL}."
    expected = "Hi John Smith, write to john@example.com."
    for token in (PERSON, EMAIL):
        at = text.index(token)
        for cut in range(at, at + len(token) + 1):
            pieces = [text[:cut], text[cut:]]
            assert "".join(restore_chunks(pieces, VALUES.get)) == expected, cut


def test_a_stream_of_single_characters_and_three_way_splits() -> None:
    text = f"{EMAIL} and {PERSON}[TOKEN_"
    expected = "john@example.com and John Smith[TOKEN_"
    assert "".join(restore_chunks(list(text), VALUES.get)) == expected
    for a in range(len(text)):
        for b in range(a, len(text)):
            pieces = [text[:a], text[a:b], text[b:]]
            assert "".join(restore_chunks(pieces, VALUES.get)) == expected


def test_stream_emits_everything_that_cannot_be_a_token() -> None:
    stream = TokenStream(VALUES.get)
    assert stream.feed("plain text [x] and [TOKEN_EM") == "plain text [x] and "
    assert stream.held == "[TOKEN_EM"
    assert stream.feed("AIL_3f9a2c1d] done") == "john@example.com done"
    assert stream.flush() == "" and stream.held == ""


def test_find_tokens() -> None:
    assert find_tokens(f"{EMAIL} {EMAIL} {PERSON}") == [EMAIL, EMAIL, PERSON]
    assert find_tokens("none") == []
