"""Everything a request needs, built once when the gateway starts (see `tappass.app`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tappass.pipeline.definition import PRESET_NAMES, compile_pipeline, load_preset

if TYPE_CHECKING:
    from tappass.agents import AgentDirectory
    from tappass.audit.recorder import AuditRecorder
    from tappass.pipeline.definition import Pipeline
    from tappass.providers.registry import Providers
    from tappass.settings import Settings
    from tappass.state import LocalState
    from tappass.storage.base import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    providers: Providers
    state: LocalState
    audit: AuditRecorder
    agents: AgentDirectory
    admin_key_hash: str = ""
    started_at: float = field(default_factory=time.time)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)

    def compile_presets(self) -> None:
        self.pipelines = {name: compile_pipeline(load_preset(name), self)
                          for name in PRESET_NAMES}

    def pipeline(self, name: str) -> Pipeline:
        return self.pipelines[name]
