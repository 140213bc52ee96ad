"""A gateway process's audit chain: its writer id, recorded in the store at start.

Each process start is a new writer with a random id, so workers and hosts never share a
chain (no lock between them). The start is recorded under the meta key
`audit_writer:<id>` (when, which host and process, which key signs its checkpoints), so
an auditor can tell the chains of a database apart.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

import orjson

from tappass.audit.chain import AuditChain
from tappass.audit.events import utc_now_iso
from tappass.audit.signing import CheckpointSigner, load_signing_key

if TYPE_CHECKING:
    from tappass.settings import Settings
    from tappass.storage.base import Store

log = logging.getLogger("tappass.audit")
WRITER_META_PREFIX = "audit_writer:"


def signer_for(settings: Settings) -> CheckpointSigner:
    configured = settings.audit_signing_key
    return CheckpointSigner(load_signing_key(
        settings.home, configured.get_secret_value() if configured else None))


async def start_chain(store: Store, settings: Settings) -> AuditChain:
    signer = signer_for(settings)
    chain = AuditChain(signer, checkpoint_events=settings.audit_checkpoint_events,
                       checkpoint_seconds=settings.audit_checkpoint_seconds)
    record = {"started_at": utc_now_iso(), "host": socket.gethostname(), "pid": os.getpid(),
              "key_id": signer.key_id}
    await store.set_meta(WRITER_META_PREFIX + chain.writer, orjson.dumps(record).decode())
    log.info("audit chain %s (checkpoints signed by key %s)", chain.writer, signer.key_id)
    return chain
