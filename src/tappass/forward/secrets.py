"""Where forwarding secrets (the SIEM token, webhook signing secrets) are kept.

With the key vault on (TAPPASS_VAULT_KEY), a secret is sealed in the vault under a reserved
name (`_tappass.siem.token`, `_tappass.webhook.<id>.secret`), so `tappass vault rekey`
re-encrypts it with the rest; the configuration stores `{"vault": "<name>"}`. Without a
vault key it is stored as `{"plain": "<value>"}` next to the configuration, and the
admin API says so (`token_storage: "plain"`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tappass.vault.service import Vault


async def keep(vault: Vault | None, name: str, value: str) -> dict[str, str]:
    """Store the secret; the reference to put in the configuration."""
    if vault is not None and vault.enabled:
        await vault.set(name, value)
        return {"vault": name}
    return {"plain": value}


def resolve(vault: Vault | None, ref: Any) -> str | None:
    if not isinstance(ref, dict):
        return None
    if "vault" in ref:
        return vault.get(ref["vault"]) if vault is not None else None
    plain = ref.get("plain")
    return plain if isinstance(plain, str) else None


async def forget(vault: Vault | None, ref: Any) -> None:
    if isinstance(ref, dict) and "vault" in ref and vault is not None and vault.enabled:
        await vault.delete(ref["vault"])


def storage_of(ref: Any) -> str | None:
    if not isinstance(ref, dict):
        return None
    return "vault" if "vault" in ref else "plain"
