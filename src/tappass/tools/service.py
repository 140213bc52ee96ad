"""Tool-governance state a gateway process keeps: session pins and the token signer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tappass.tools.capability import CapabilitySigner, load_key
from tappass.tools.pins import MemoryToolPins, ToolPins

if TYPE_CHECKING:
    from tappass.settings import Settings


@dataclass
class ToolState:
    """Per process; `signer()` loads or generates the key on first use."""

    settings: Settings
    session_pins: ToolPins = field(default_factory=MemoryToolPins)
    agent_pins: dict[str, dict[str, str]] = field(default_factory=dict)  # cache of the store
    _signer: CapabilitySigner | None = None

    def signer(self) -> CapabilitySigner:
        if self._signer is None:
            configured = self.settings.capability_key
            key = load_key(self.settings.home,
                           configured.get_secret_value() if configured else None)
            self._signer = CapabilitySigner(key, self.settings.capability_ttl)
        return self._signer
