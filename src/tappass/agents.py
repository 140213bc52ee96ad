"""Agent identities: registration, key rotation, and authentication of `tp_` keys.

Authentication looks the record up by the key's public prefix and compares the SHA-256 of
the whole key in constant time. Successful lookups are cached briefly; every change made
through this process drops the agent from the cache at once, and other worker processes
see it within `CACHE_SECONDS`.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tappass import keys
from tappass.errors import AlreadyExists, RequestError
from tappass.pipeline.definition import PRESET_NAMES
from tappass.policy.flags import validate_flags
from tappass.storage.base import AgentRecord

if TYPE_CHECKING:
    from tappass.storage.base import Store

CACHE_SECONDS = 1.0
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class NotFound(RequestError):
    def __init__(self, name: str) -> None:
        super().__init__(f"agent {name!r} not found", field="name", status=404,
                         code="agent_not_found")


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise RequestError("name: expected 1-64 characters of letters, digits, '.', '_' or "
                           "'-', starting with a letter or digit", field="name")
    return name


def validate_preset(preset: Any) -> str:
    if preset not in PRESET_NAMES:
        raise RequestError(f"preset: unknown preset {preset!r}; valid presets: "
                           f"{', '.join(PRESET_NAMES)}", field="preset", code="unknown_preset")
    return str(preset)


def public_view(agent: AgentRecord) -> dict[str, Any]:
    return {"id": agent.id, "name": agent.name, "preset": agent.preset, "flags": agent.flags,
            "enabled": agent.enabled, "key_prefix": agent.key_prefix,
            "created_at": agent.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": agent.updated_at.isoformat().replace("+00:00", "Z")}


class AgentDirectory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[AgentRecord, float]] = {}

    async def authenticate(self, key: str) -> AgentRecord | None:
        if not key.startswith(keys.AGENT_PREFIX) or key.startswith(keys.ADMIN_PREFIX):
            return None
        digest = keys.hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        agent = await self._store.get_agent_by_key_prefix(keys.lookup_prefix(key))
        if agent is None or not keys.matches(key, agent.key_hash):
            return None
        self._cache[digest] = (agent, now + CACHE_SECONDS)
        return agent

    def _forget(self, agent: AgentRecord) -> None:
        self._cache.pop(agent.key_hash, None)

    async def get(self, name: str) -> AgentRecord:
        agent = await self._store.get_agent(name)
        if agent is None:
            raise NotFound(name)
        return agent

    async def list(self) -> list[AgentRecord]:
        return await self._store.list_agents()

    async def create(self, name: Any, preset: Any, flags: Any) -> tuple[AgentRecord, str]:
        name = validate_name(name)
        preset = validate_preset(preset)
        if not isinstance(flags, dict):
            raise RequestError("flags: expected an object of flag names to values",
                               field="flags")
        now = datetime.now(UTC)
        key = keys.generate_agent_key()
        agent = AgentRecord(id=keys.new_id("ag"), name=name, preset=preset,
                            flags=validate_flags(flags), enabled=True,
                            key_prefix=keys.lookup_prefix(key), key_hash=keys.hash_key(key),
                            created_at=now, updated_at=now)
        try:
            await self._store.create_agent(agent)
        except AlreadyExists:
            raise RequestError(f"agent {name!r} already exists", field="name", status=409,
                               code="agent_exists") from None
        return agent, key

    async def update(self, name: str, **changes: Any) -> AgentRecord:
        agent = await self.get(name)
        if "preset" in changes:
            changes["preset"] = validate_preset(changes["preset"])
        if "flags" in changes:
            if not isinstance(changes["flags"], dict):
                raise RequestError("flags: expected an object", field="flags")
            changes["flags"] = validate_flags(changes["flags"])
        if "enabled" in changes and not isinstance(changes["enabled"], bool):
            raise RequestError("enabled: expected true or false", field="enabled")
        updated = replace(agent, **changes, updated_at=datetime.now(UTC))
        await self._store.update_agent(updated)
        self._forget(agent)
        return updated

    async def rotate_key(self, name: str) -> tuple[AgentRecord, str]:
        agent = await self.get(name)
        key = keys.generate_agent_key()
        updated = replace(agent, key_prefix=keys.lookup_prefix(key), key_hash=keys.hash_key(key),
                          updated_at=datetime.now(UTC))
        await self._store.update_agent(updated)
        self._forget(agent)
        return updated, key

    async def delete(self, name: str) -> None:
        agent = await self.get(name)
        await self._store.delete_agent(name)
        self._forget(agent)
