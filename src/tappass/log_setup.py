"""Where the gateway's own log lines (`tappass.*` loggers) go.

uvicorn configures only its own loggers, so without this every `tappass.*` record below
WARNING was dropped by Python's last-resort handler: `debug_logging` wrote nothing even at
TAPPASS_LOG_LEVEL=debug. The `tappass` logger gets the TAPPASS_LOG_LEVEL level and, unless
the embedding program has configured logging itself (the root logger has handlers), one
stderr handler.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _GatewayHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module added, so a second call does not add another."""


def configure_logging(level: str) -> None:
    logger = logging.getLogger("tappass")
    logger.setLevel(level.upper())
    if logging.getLogger().handlers or any(isinstance(h, _GatewayHandler)
                                           for h in logger.handlers):
        return
    handler = _GatewayHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
