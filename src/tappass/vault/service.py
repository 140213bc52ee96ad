"""The key vault of a running gateway: provider keys, sealed in the store, open in memory.

`load()` opens every stored secret under TAPPASS_VAULT_KEY when the gateway starts; one that
does not open stops the start with an error naming the variable (nothing is half-loaded).
`set`, `delete` and `rekey` write through the store and bump the stored `vault_version`; the
caller then signals the change so every worker on the machine reloads before its next
request (`Services.sync`), and gateways on other machines (PostgreSQL) notice the version
within POLL_SECONDS. Values are never listed, logged or returned: `records()` gives names
and dates only.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tappass.errors import RequestError, StorageError
from tappass.poller import Poller
from tappass.storage.base import SecretRecord
from tappass.vault.cipher import KEY_VARIABLE, Cipher, VaultError

if TYPE_CHECKING:
    from tappass.storage.base import Store

log = logging.getLogger("tappass.vault")
KEY_ID = "vault_key_id"   # meta: which key the stored secrets are sealed under
VERSION = "vault_version"  # meta: changes whenever a secret does
POLL_SECONDS = 2.0
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
MAX_VALUE_BYTES = 64 * 1024


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise RequestError(f"vault secret name {name!r}: expected letters, digits, '_', '.' or "
                           "'-', starting with a letter or '_' (e.g. ANTHROPIC_API_KEY)",
                           field="name")
    return name


class Vault:
    def __init__(self, store: Store, key: str | None) -> None:
        self._store = store
        self._cipher = Cipher(key) if key else None
        self._values: dict[str, str] = {}
        self._version: str | None = None
        self._poller = Poller(self.refresh, POLL_SECONDS, "the vault")

    @property
    def enabled(self) -> bool:
        return self._cipher is not None

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def _require(self) -> Cipher:
        if self._cipher is None:
            raise VaultError(f"the vault is off: set {KEY_VARIABLE} (base64 of 32 bytes; "
                             "`tappass vault new-key` makes one) and restart the gateway")
        return self._cipher

    async def _check_key(self, cipher: Cipher) -> None:
        stored = await self._store.get_meta(KEY_ID)
        if stored is None:
            await self._store.set_meta(KEY_ID, cipher.key_id)
        elif stored != cipher.key_id:
            raise VaultError(f"{KEY_VARIABLE} is not the key the vault's secrets are stored "
                             "under (were they re-encrypted with `tappass vault rekey`?): "
                             "set it to that key and restart the gateway")

    async def load(self) -> None:
        if self._cipher is not None:
            await self._check_key(self._cipher)
        version = await self._store.get_meta(VERSION)
        records = await self._store.list_secrets()
        if records and self._cipher is None:
            raise VaultError(f"the vault holds {len(records)} secret(s) but {KEY_VARIABLE} is "
                             "not set: set it to the key they were stored under")
        cipher = self._cipher
        self._values = {r.name: cipher.open(r.name, r.sealed)
                        for r in records} if cipher else {}
        self._version = version

    async def refresh(self) -> None:
        """Reload when another gateway changed the vault (its stored version moved)."""
        version = await self._store.get_meta(VERSION)
        if version != self._version:
            await self.reload()
            self._version = version  # a failed reload is logged once per change, not per poll

    async def _bump(self) -> None:
        self._version = datetime.now(UTC).isoformat()
        await self._store.set_meta(VERSION, self._version)

    def start(self) -> None:
        self._poller.start()

    async def close(self) -> None:
        await self._poller.close()

    async def reload(self) -> None:
        """After another worker changed the vault; on failure the previous keys stay in use."""
        try:
            await self.load()
        except (VaultError, StorageError) as exc:
            log.error("vault not reloaded, the previous provider keys stay in use: %s", exc)

    async def records(self) -> list[SecretRecord]:
        return await self._store.list_secrets()

    async def set(self, name: str, value: str) -> SecretRecord:
        check_name(name)
        if not value or len(value.encode()) > MAX_VALUE_BYTES:
            raise RequestError(f"vault secret {name!r}: expected a value of 1 to "
                               f"{MAX_VALUE_BYTES} bytes", field="value")
        cipher = self._require()
        await self._check_key(cipher)  # never mix secrets sealed under two keys
        now = datetime.now(UTC)
        record = SecretRecord(name, cipher.seal(name, value), now, now)
        await self._store.save_secret(record)
        self._values[name] = value
        await self._bump()
        return record

    async def delete(self, name: str) -> bool:
        deleted = await self._store.delete_secret(check_name(name))
        self._values.pop(name, None)
        if deleted:
            await self._bump()
        return deleted

    async def rekey(self, new_key: str) -> int:
        """Re-encrypt every secret under `new_key` in one transaction; the count."""
        old = self._require()
        await self._check_key(old)
        new = Cipher(new_key)
        now = datetime.now(UTC)
        resealed = [SecretRecord(r.name, new.seal(r.name, old.open(r.name, r.sealed)),
                                 r.created_at, now)
                    for r in await self._store.list_secrets()]
        await self._store.reseal_secrets(resealed)
        await self._store.set_meta(KEY_ID, new.key_id)
        self._cipher = new
        await self._bump()
        return len(resealed)
