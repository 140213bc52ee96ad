"""HeldText: what a streamed text may send, piece by piece, for the steps that govern it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tappass.detect.secrets.structured import unfinished_block
from tappass.pipeline.options import PiiOptions, SecretsOptions
from tappass.pipeline.step import GovernsText, Verdict
from tappass.pipeline.steps.detect_pii import DetectPii
from tappass.pipeline.steps.detect_secrets import DetectSecrets
from tappass.pipeline.stream_text import BATCH, LONGEST_RUN, TextSteps
from tests.server.stream_support import RestoreTokens, partial_token_suffix

TOKEN = "ghp_" + "Zq8Lm2Xv4Rt6Yb1Nc3Kd5Hf7Jg9Pw0Sa2Ue4"
PROSE = "The nightly job reports to the team channel and nobody reads it. " * 8


def steps(mode: str = "enforce", action: str = "redact", pii: str = "mask") -> TextSteps:
    ctx: Any = SimpleNamespace(mode=mode, flags={"pii": pii})
    members: list[tuple[str, GovernsText]] = [
        ("detect_pii", DetectPii(PiiOptions(), None)),
        ("detect_secrets", DetectSecrets(SecretsOptions(action=action), None))]
    return TextSteps(ctx, members)


def sent_pieces(governed: TextSteps, pieces: list[str]) -> list[str]:
    held = governed.held()
    return [held.feed(p) for p in pieces] + [held.finish()]


def test_nothing_is_sent_until_more_than_the_window_has_come() -> None:
    governed = steps()
    held = governed.held()
    assert held.feed(PROSE[:192 + BATCH - 1]) == ""
    first = held.feed(PROSE[192 + BATCH - 1:300])
    assert first and PROSE.startswith(first) and first.endswith(" ")   # cut after a space
    assert len(PROSE[:300]) - len(first) >= 192


def test_a_secret_cut_in_every_place_is_redacted_before_it_is_sent() -> None:
    text = f"{PROSE}deploy with {TOKEN} tonight. {PROSE}"
    expected = text.replace(TOKEN, "[REDACTED:GITHUB_TOKEN]")
    start = text.index(TOKEN)
    for cut in range(start - 5, start + len(TOKEN) + 5):
        out = sent_pieces(steps(), [text[:cut], text[cut:]])
        assert "".join(out) == expected
        assert not any("ghp_Zq8" in piece or "Pw0Sa2Ue4" in piece for piece in out)


def test_a_block_stops_before_the_secret_and_is_recorded() -> None:
    governed = steps(action="block")
    text = f"{PROSE}deploy with {TOKEN} tonight. {PROSE}"
    out = sent_pieces(governed, [text[i:i + 9] for i in range(0, len(text), 9)])
    assert governed.block is not None and governed.block.step == "detect_secrets"
    assert TOKEN[:6] not in "".join(out) and text.startswith("".join(out))
    result = governed.results()["detect_secrets"]
    assert result.verdict is Verdict.BLOCK and result.findings[0].type == "GITHUB_TOKEN"


def test_observe_records_would_block_and_sends_the_text() -> None:
    governed = steps(mode="observe", action="block")
    text = f"{PROSE}deploy with {TOKEN} tonight."
    assert "".join(sent_pieces(governed, [text[:300], text[300:]])) == text
    assert governed.block is None
    assert governed.results()["detect_secrets"].verdict is Verdict.WOULD_BLOCK


def test_a_private_key_waits_for_its_end_line() -> None:
    body = "MIIEowIBAAKCAQEA7bq98nTzUe3kDvKrVn6n1sR4vKbE2kY\n" * 30
    head = f"{PROSE}-----BEGIN PRIVATE KEY-----\n"
    assert unfinished_block(head + body) == len(PROSE)
    assert unfinished_block(head + body + "-----END PRIVATE KEY-----") == len(head + body) + 25
    held = steps().held()
    before = held.feed(head) + held.feed(body)
    assert "BEGIN" not in before and "MIIE" not in before
    rest = held.feed("-----END PRIVATE KEY-----\n" + PROSE) + held.finish()
    assert "MIIE" not in rest and "[REDACTED:PRIVATE_KEY]" in rest


def test_a_run_longer_than_any_token_is_not_held_forever() -> None:
    held = steps().held()
    blob = "x" * (LONGEST_RUN + 500)
    assert held.feed(blob)   # sent although it never had a space


def test_a_token_is_restored_whole_and_a_half_token_is_held() -> None:
    RestoreTokens.values = {"[TOKEN_EMAIL_3f9a2c1d]": "ann@corp.example"}
    restore: GovernsText = RestoreTokens(None, None)
    governed = TextSteps(SimpleNamespace(mode="enforce", flags={}), [("pii_restore", restore)])
    assert partial_token_suffix("mail [TOKEN_EMA") == "[TOKEN_EMA"
    assert partial_token_suffix("mail [TOKEN_EMAIL_3f9a2c1d]") == ""
    text = f"{PROSE}mail [TOKEN_EMAIL_3f9a2c1d] now"
    for cut in range(len(PROSE), len(text)):
        out = sent_pieces(governed, [text[:cut], text[cut:]])
        assert "".join(out) == text.replace("[TOKEN_EMAIL_3f9a2c1d]", "ann@corp.example")
        assert not any("[TOKEN_" in piece for piece in out)
