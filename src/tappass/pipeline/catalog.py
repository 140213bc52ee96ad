"""Which pipeline an agent runs: presets, stored custom pipelines, agent overrides.

Compiled pipelines are cached per pipeline, and per agent for agents with overrides: keyed by
the agent's id and a fingerprint of its preset and overrides, so two agents never share a
pipeline they do not both configure, and any change to either is a new key (no clock is
involved: two updates in the same instant still differ). Changes made through this process
apply to the next request; other worker processes notice the stored `pipelines_version`
within POLL_SECONDS (agents' own overrides travel with the agent record, which they re-read
within a second).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from tappass.errors import ConfigError
from tappass.pipeline.definition import (
    PRESET_NAMES,
    Pipeline,
    PipelineDefinition,
    compile_pipeline,
    load_preset,
)
from tappass.pipeline.overrides import apply, normalize, toggles
from tappass.poller import Poller
from tappass.storage.base import PipelineRecord

if TYPE_CHECKING:
    from tappass.storage.base import AgentRecord, Store

log = logging.getLogger("tappass.pipelines")
POLL_SECONDS = 0.5
MAX_COMPILED = 1024  # agent-specific pipelines kept compiled; older ones are rebuilt on use
VERSION_KEY = "pipelines_version"
DEFAULT_ALIAS = "default"
SPEC_KEYS = ("base", "description", "enable", "disable", "overrides")


def _string_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: expected a list of step ids")
    return value


def build_custom(name: str, spec: dict[str, Any]) -> PipelineDefinition:
    """The definition of a custom pipeline from its stored spec; ConfigError on bad input."""
    for key in spec:
        if key not in SPEC_KEYS:
            raise ConfigError(f"{key}: unknown key; expected one of {', '.join(SPEC_KEYS)}")
    base = spec.get("base")
    if base not in PRESET_NAMES:
        raise ConfigError(f"base: expected one of {', '.join(PRESET_NAMES)}, got {base!r}")
    definition = apply(load_preset(base), toggles(
        _string_list(spec.get("enable", []), "enable"),
        _string_list(spec.get("disable", []), "disable"), "steps"), name=name,
        description=str(spec.get("description") or f"custom pipeline based on {base}"))
    return apply(definition, normalize(spec.get("overrides")))


def _fingerprint(preset: str, overrides: dict[str, Any]) -> str:
    """A version of an agent's pipeline configuration that changes whenever it changes."""
    canonical = orjson.dumps([preset, overrides], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


class PipelineCatalog:
    def __init__(self, store: Store, services: Any, default_preset: str) -> None:
        # services.changed() tells other workers; services.sync() reloads on their changes
        self._store = store
        self._services = services
        self.default_preset = default_preset
        self._custom: dict[str, tuple[PipelineRecord, PipelineDefinition]] = {}
        self._compiled: dict[tuple[str, Any], Pipeline] = {}
        self._version: str | None = None
        self._poller = Poller(self.refresh, POLL_SECONDS, "pipelines")

    # -- names and definitions ---------------------------------------------------------

    def names(self) -> list[str]:
        return [*PRESET_NAMES, *sorted(self._custom)]

    def canonical(self, name: str) -> str:
        return self.default_preset if name == DEFAULT_ALIAS else name

    def exists(self, name: str) -> bool:
        name = self.canonical(name)
        return name in PRESET_NAMES or name in self._custom

    def check_name(self, name: Any, field: str = "preset") -> str:
        if not isinstance(name, str) or not self.exists(name):
            custom = f"; custom pipelines: {', '.join(sorted(self._custom))}" \
                if self._custom else ""
            raise ConfigError(f"{field}: unknown preset {name!r}; valid presets: "
                              f"{', '.join(PRESET_NAMES)}{custom}")
        return name

    def definition(self, name: str) -> PipelineDefinition:
        name = self.canonical(self.check_name(name))
        if name in PRESET_NAMES:
            return load_preset(name)
        return self._custom[name][1]

    def record(self, name: str) -> PipelineRecord | None:
        entry = self._custom.get(self.canonical(name))
        return entry[0] if entry else None

    # -- compiled pipelines for requests ------------------------------------------------

    def agent_definition(self, preset: str, overrides: dict[str, Any]) -> PipelineDefinition:
        definition = self.definition(preset)
        if not overrides:
            return definition
        return apply(definition, normalize(overrides))

    def pipeline(self, name: str) -> Pipeline:
        """The compiled pipeline `name` (preset or custom), without agent overrides."""
        key = (self.canonical(name), None)
        pipeline = self._compiled.get(key)
        if pipeline is None:
            pipeline = compile_pipeline(self.definition(name), self._services)
            self._compiled[key] = pipeline
        return pipeline

    def for_agent(self, agent: AgentRecord) -> Pipeline:
        if not agent.overrides:
            return self.pipeline(agent.preset)
        key = (agent.id, _fingerprint(agent.preset, agent.overrides))
        pipeline = self._compiled.get(key)
        if pipeline is None:
            if len(self._compiled) >= MAX_COMPILED:
                self._compiled.clear()  # superseded versions pile up as agents change
            definition = self.agent_definition(agent.preset, agent.overrides)
            pipeline = self._compiled[key] = compile_pipeline(definition, self._services)
        return pipeline

    def validate(self, preset: str, overrides: dict[str, Any]) -> PipelineDefinition:
        """Build and compile without caching, so bad configuration is refused before saving."""
        definition = self.agent_definition(self.check_name(preset), overrides)
        compile_pipeline(definition, self._services)
        return definition

    # -- custom pipelines -----------------------------------------------------------------

    async def save(self, name: str, spec: dict[str, Any]) -> PipelineDefinition:
        if name in PRESET_NAMES or name == DEFAULT_ALIAS:
            raise ConfigError(f"name: {name!r} is a preset; choose another name")
        definition = build_custom(name, spec)
        compile_pipeline(definition, self._services)
        now = datetime.now(UTC)
        existing = self.record(name)
        record = PipelineRecord(name, spec, existing.created_at if existing else now, now)
        await self._store.save_pipeline(record)
        await self._bump()
        return definition

    async def delete(self, name: str) -> bool:
        deleted = await self._store.delete_pipeline(name)
        if deleted:
            await self._bump()
        return deleted

    async def _bump(self) -> None:
        version = datetime.now(UTC).isoformat()
        await self._store.set_meta(VERSION_KEY, version)
        await self._reload(version)
        self._services.changed()

    async def _reload(self, version: str | None) -> None:
        custom = {}
        for record in await self._store.list_pipelines():
            try:
                custom[record.name] = (record, build_custom(record.name, record.spec))
            except ConfigError as exc:  # stored by an older version with other rules
                log.error("custom pipeline %r is invalid and is not served: %s",
                          record.name, exc)
        self._custom = custom
        self._compiled.clear()
        self._version = version

    # -- hot reload ------------------------------------------------------------------------

    async def load(self) -> None:
        await self._reload(await self._store.get_meta(VERSION_KEY))

    async def refresh(self) -> None:
        version = await self._store.get_meta(VERSION_KEY)
        if version != self._version:
            await self._reload(version)

    def start(self) -> None:
        self._poller.start()

    async def close(self) -> None:
        await self._poller.close()
