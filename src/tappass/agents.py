"""Agent identities: registration, key rotation, and authentication of `tp_` keys.

Authentication looks the record up by the key's public prefix and compares the SHA-256 of
the whole key in constant time (against a dummy when the prefix is unknown). Successful
lookups are cached briefly. Every change drops the agent from this process's cache and
signals the other workers on this machine (`tappass.changes`), so a rotated key or a
disabled agent is refused by the next request everywhere; gateways on other machines
re-read the record within `CACHE_SECONDS`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tappass import keys
from tappass.clip import clip
from tappass.errors import AlreadyExists, ConfigError, RequestError
from tappass.policy.flags import validate_flags, validate_locked, validate_loosenable
from tappass.storage.base import AgentRecord

if TYPE_CHECKING:
    from tappass.pipeline.catalog import PipelineCatalog
    from tappass.storage.base import Store

CACHE_SECONDS = 1.0
ID_PREFIX = "ag_"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class NotFound(RequestError):
    def __init__(self, name: str) -> None:
        super().__init__(f"agent {clip(name)} not found (by name or id); list agents with "
                         "GET /v1/agents or `tappass agents list`", field="name", status=404,
                         code="agent_not_found")


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise RequestError("name: expected 1-64 characters of letters, digits, '.', '_' or "
                           "'-', starting with a letter or digit", field="name")
    return name


def public_view(agent: AgentRecord) -> dict[str, Any]:
    return {"id": agent.id, "name": agent.name, "preset": agent.preset, "flags": agent.flags,
            "locked_flags": agent.locked_flags, "loosenable_flags": agent.loosenable_flags,
            "overrides": agent.overrides,
            "enabled": agent.enabled, "key_prefix": agent.key_prefix,
            "created_at": agent.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": agent.updated_at.isoformat().replace("+00:00", "Z")}


class AgentDirectory:
    def __init__(self, store: Store, catalog: PipelineCatalog,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self._store = store
        self._catalog = catalog
        self._on_change = on_change
        self._cache: dict[str, tuple[AgentRecord, float]] = {}

    def forget_all(self) -> None:
        self._cache.clear()

    def _check_pipeline(self, preset: Any, overrides: dict[str, Any]) -> str:
        try:
            self._catalog.validate(preset, overrides)
        except ConfigError as exc:
            path = str(exc).split(":", 1)[0]
            raise RequestError(str(exc), field=path if " " not in path else "overrides",
                               code="invalid_pipeline") from None
        return str(preset)

    async def authenticate(self, key: str) -> AgentRecord | None:
        if not key.startswith(keys.AGENT_PREFIX) or key.startswith(keys.ADMIN_PREFIX):
            return None
        digest = keys.hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        agent = await self._store.get_agent_by_key_prefix(keys.lookup_prefix(key))
        # an unknown prefix is compared too: it must cost what a wrong secret costs
        if not keys.digest_matches(digest, agent.key_hash if agent else None) or agent is None:
            return None
        self._cache[digest] = (agent, now + CACHE_SECONDS)
        return agent

    def _forget(self, agent: AgentRecord) -> None:
        self._cache.pop(agent.key_hash, None)
        self._on_change()

    async def get(self, name: str) -> AgentRecord:
        """The agent called `name`, or whose id is `name` (`ag_...`); NotFound otherwise."""
        agent = await self._store.get_agent(name)
        if agent is None and name.startswith(ID_PREFIX):
            agent = await self.get_by_id(name)
        if agent is None:
            raise NotFound(name)
        return agent

    async def get_by_id(self, agent_id: str) -> AgentRecord | None:
        return next((a for a in await self._store.list_agents() if a.id == agent_id), None)

    async def list(self) -> list[AgentRecord]:
        return await self._store.list_agents()

    async def create(self, name: Any, preset: Any, flags: Any, locked_flags: Any = (),
                     loosenable_flags: Any = ()) -> tuple[AgentRecord, str]:
        name = validate_name(name)
        preset = self._check_pipeline(preset, {})
        now = datetime.now(UTC)
        key = keys.generate_agent_key()
        agent = AgentRecord(id=keys.new_id("ag"), name=name, preset=preset,
                            flags=_flags(flags), enabled=True,
                            key_prefix=keys.lookup_prefix(key), key_hash=keys.hash_key(key),
                            created_at=now, updated_at=now,
                            locked_flags=validate_locked(_names(locked_flags)),
                            loosenable_flags=validate_loosenable(_names(loosenable_flags)))
        try:
            await self._store.create_agent(agent)
        except AlreadyExists:
            raise RequestError(f"agent {name!r} already exists", field="name", status=409,
                               code="agent_exists") from None
        return agent, key

    async def update(self, name: str, **changes: Any) -> AgentRecord:
        agent = await self.get(name)
        if "preset" in changes or "overrides" in changes:
            overrides = changes.get("overrides", agent.overrides)
            if not isinstance(overrides, dict):
                raise RequestError("overrides: expected an object", field="overrides")
            changes["overrides"] = overrides
            changes["preset"] = self._check_pipeline(changes.get("preset", agent.preset),
                                                     overrides)
        if "flags" in changes:
            changes["flags"] = _flags(changes["flags"])
        if "locked_flags" in changes:
            changes["locked_flags"] = validate_locked(changes["locked_flags"])
        if "loosenable_flags" in changes:
            changes["loosenable_flags"] = validate_loosenable(changes["loosenable_flags"])
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

    async def delete(self, name: str) -> AgentRecord:
        agent = await self.get(name)
        await self._store.delete_agent(agent.name)
        self._forget(agent)
        return agent


def _names(names: Any) -> Any:
    """A tuple default as a list; anything else as given, for the validator to name."""
    return list(names) if isinstance(names, tuple) else names


def _flags(flags: Any) -> dict[str, str]:
    if not isinstance(flags, dict):
        raise RequestError("flags: expected an object of flag names to values, e.g. "
                           '{"pii": "mask"}', field="flags")
    return validate_flags(flags)
