"""`tappass audit pubkey` and `tappass audit verify --file` against a running gateway."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.cli.conftest import Run


def test_an_export_verifies_offline_with_the_printed_key_and_an_edit_is_named(
        run: Run, admin: httpx.Client, new_agent: Callable[..., tuple[str, str]],
        chat: Callable[..., httpx.Response], tmp_path: Path) -> None:
    _, key = new_agent()
    ids = [chat(key, f"call {n}").headers["X-TapPass-Audit-Id"] for n in range(3)]
    result = run("audit", "pubkey")
    assert result.exit_code == 0 and result.output.startswith("-----BEGIN PUBLIC KEY-----")
    pem = tmp_path / "key.pem"
    pem.write_text(result.output)
    export = tmp_path / "export.jsonl"
    export.write_bytes(admin.get("/v1/audit/export", params={"format": "jsonl"}).content)

    result = run("audit", "verify", "--file", str(export), "--pubkey", str(pem))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: ")

    lines = export.read_text().splitlines(keepends=True)
    edited = [line.replace('"http_status":200', '"http_status":201')
              if ids[1] in line else line for line in lines]
    export.write_text("".join(edited))
    result = run("audit", "verify", "--file", str(export), "--pubkey", str(pem))
    assert result.exit_code == 1
    assert f"TAMPERED: edited event {ids[1]}" in result.output


def test_a_bad_public_key_file_is_named(run: Run, tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "bad.pem").write_text("not a key")
    result = run("audit", "verify", "--file", str(tmp_path / "empty.jsonl"), "--pubkey",
                 str(tmp_path / "bad.pem"))
    assert result.exit_code == 1
    assert "--pubkey" in result.output and "Ed25519 public key" in result.output
