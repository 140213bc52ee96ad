"""Everything a request needs, built once when the gateway starts (see `tappass.app`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tappass.changes import ChangeSignal
from tappass.judge import LlmJudge
from tappass.server.streaming import OpenStreams
from tappass.tools.service import ToolState

if TYPE_CHECKING:
    from tappass.agents import AgentDirectory
    from tappass.audit.recorder import AuditRecorder
    from tappass.kv import KV
    from tappass.pipeline.catalog import PipelineCatalog
    from tappass.prometheus import GatewayMetrics
    from tappass.providers.registry import Providers
    from tappass.server.auth_flood import AuthFloodGuard
    from tappass.settings import Settings
    from tappass.storage.base import Store
    from tappass.vault.service import Vault


@dataclass
class Services:
    settings: Settings
    store: Store
    providers: Providers
    kv: KV                  # shared state: rate limits, budgets, sessions
    audit: AuditRecorder
    admin_key_hash: str = ""
    started_at: float = field(default_factory=time.time)
    # built from the services themselves (steps compiled by the catalog receive them)
    catalog: PipelineCatalog = field(init=False)
    agents: AgentDirectory = field(init=False)
    auth_flood: AuthFloodGuard = field(init=False)
    changes: ChangeSignal = field(default_factory=lambda: ChangeSignal(None))
    streams: OpenStreams = field(default_factory=OpenStreams)
    vault: Vault | None = None
    tools: ToolState = field(init=False)   # session tool pins, capability signer
    judge: LlmJudge | None = field(init=False)   # None unless TAPPASS_LLM_JUDGE_ENABLED
    metrics: GatewayMetrics | None = None  # Prometheus counters fed by the audit writer

    def __post_init__(self) -> None:
        self.tools = ToolState(self.settings)
        self.judge = LlmJudge.from_settings(self.settings, self.providers)

    async def sync(self) -> None:
        """Pick up configuration another worker changed (cheap when nothing did)."""
        if self.changes.changed():
            self.agents.forget_all()
            await self.catalog.refresh()
            if self.vault is not None:
                await self.vault.reload()

    def changed(self) -> None:
        """Tell every worker (this one included) that configuration changed."""
        self.changes.bump()
        self.changes.changed()  # this process already has the change
