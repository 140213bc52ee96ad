"""The admin key: from TAPPASS_ADMIN_API_KEY, or generated once and kept only as a hash."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tappass import keys

if TYPE_CHECKING:
    from tappass.settings import Settings
    from tappass.storage.base import Store

META_KEY = "admin_key_hash"


async def ensure_admin_key(store: Store, settings: Settings) -> tuple[str, str | None]:
    """(hash in force, the new key if one was generated now — to be shown exactly once)."""
    if settings.admin_api_key is not None:
        digest = keys.hash_key(settings.admin_api_key.get_secret_value())
        if await store.get_meta(META_KEY) != digest:
            await store.set_meta(META_KEY, digest)
        return digest, None
    stored = await store.get_meta(META_KEY)
    if stored:
        return stored, None
    key = keys.generate_admin_key()
    digest = keys.hash_key(key)
    await store.set_meta(META_KEY, digest)
    return digest, key
