"""Capability tokens (Ed25519 JWS) and tool-definition pins."""

from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tappass.errors import ConfigError
from tappass.settings import load_settings
from tappass.tools.service import ToolState
from tappass.tools.capability import CapabilityError, CapabilitySigner, load_key
from tappass.tools.pins import MemoryToolPins, definition_hash


def signer(tmp_path: Path) -> CapabilitySigner:
    return CapabilitySigner(load_key(tmp_path, None), ttl=60)


def test_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = signer(tmp_path)
    path = tmp_path / "capability_key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signer(tmp_path).kid == first.kid   # the same key is read back
    assert [p.name for p in tmp_path.iterdir()] == ["capability_key.pem"]  # no temporary left


def test_configured_key_must_be_ed25519_pem(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="TAPPASS_CAPABILITY_KEY: expected a PEM Ed25519"):
        load_key(tmp_path, "not a key")
    monkeypatch.setenv("TAPPASS_CAPABILITY_KEY", "not a key")
    with pytest.raises(ConfigError, match="TAPPASS_CAPABILITY_KEY.*expected a PEM Ed25519"):
        load_settings()
    (tmp_path / "capability_key.pem").write_text("garbage")
    with pytest.raises(ConfigError, match="capability_key.pem: expected a PEM Ed25519 "
                                          "private key .*remove the file"):
        load_key(tmp_path, None)


def test_configured_key_signs(tmp_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    settings = load_settings(capability_key=pem)
    state = ToolState(settings)
    assert state.signer().kid == CapabilitySigner(load_key(tmp_path, pem)).kid
    assert not (settings.home / "capability_key.pem").exists()


def test_token_verifies_for_the_same_agent_tool_and_arguments(tmp_path: Path) -> None:
    s = signer(tmp_path)
    token = s.issue("ag_1", "gmail_send", {"to": "a@corp.com", "body": "hi"},
                    {"to": {"glob": "*@corp.com"}})
    capability = s.verify(token, agent_id="ag_1", tool="gmail_send",
                          arguments={"body": "hi", "to": "a@corp.com"})  # key order is free
    assert capability.constraints == {"to": {"glob": "*@corp.com"}}


@pytest.mark.parametrize(("agent", "tool", "arguments", "message"), [
    ("ag_1", "gmail_send", {"to": "eve@rival.com", "body": "hi"}, "arguments differ"),
    ("ag_1", "gmail_delete", {"to": "a@corp.com", "body": "hi"}, "for tool 'gmail_send'"),
    ("ag_2", "gmail_send", {"to": "a@corp.com", "body": "hi"}, "another agent"),
])
def test_token_is_refused_for_anything_else(tmp_path: Path, agent: str, tool: str,
                                            arguments: dict[str, str], message: str) -> None:
    s = signer(tmp_path)
    token = s.issue("ag_1", "gmail_send", {"to": "a@corp.com", "body": "hi"})
    with pytest.raises(CapabilityError, match=message):
        s.verify(token, agent_id=agent, tool=tool, arguments=arguments)


def test_expired_forged_and_tampered_tokens_are_refused(tmp_path: Path) -> None:
    s = signer(tmp_path)
    args = {"q": "x"}
    old = s.issue("ag_1", "search", args, now=1_000_000)
    with pytest.raises(CapabilityError, match="expired"):
        s.verify(old, agent_id="ag_1", tool="search", arguments=args)
    other = CapabilitySigner(load_key(tmp_path / "other", None))
    with pytest.raises(CapabilityError, match="invalid"):
        s.verify(other.issue("ag_1", "search", args), agent_id="ag_1", tool="search",
                 arguments=args)
    _, payload, _ = s.issue("ag_1", "search", args).split(".")
    forged = jwt.utils.base64url_encode(b'{"alg":"none"}').decode()
    with pytest.raises(CapabilityError, match="invalid"):
        s.verify(f"{forged}.{payload}.", agent_id="ag_1", tool="search", arguments=args)


def test_jwks_verifies_offline(tmp_path: Path) -> None:
    s = signer(tmp_path)
    token = s.issue("ag_1", "search", {"q": "x"})
    [jwk] = s.jwks()["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["kid"]) == ("OKP", "Ed25519", s.kid)
    key = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, key, algorithms=["EdDSA"])
    assert (claims["sub"], claims["tool"]) == ("ag_1", "search")


def test_definition_hash_ignores_key_order_and_sees_any_change() -> None:
    a = {"type": "function", "function": {"name": "f", "description": "x"}}
    b = {"function": {"description": "x", "name": "f"}, "type": "function"}
    c = {"type": "function", "function": {"name": "f", "description": "x "}}
    assert definition_hash(a) == definition_hash(b) != definition_hash(c)


async def test_session_pins_first_sight_wins_and_are_bounded() -> None:
    pins = MemoryToolPins(max_sessions=2)
    assert await pins.put("s1", "f", "aaa") == "aaa"
    assert await pins.put("s1", "f", "bbb") == "aaa"
    assert await pins.get("s1", "f") == "aaa" and await pins.get("s2", "f") is None
    await pins.put("s2", "f", "x")
    await pins.put("s3", "f", "y")   # s1 is the least recently used: dropped
    assert await pins.get("s1", "f") is None and await pins.get("s3", "f") == "y"
