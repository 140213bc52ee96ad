"""The audit hash chain: canonical JSON, chain links, and the writer's chain state.

Every audit event gets a `chain` object when the audit writer commits it (see
docs/audit-chain.md for the exact specification):

    {"v": 1, "writer": "w_…", "seq": 7, "prev": "<hash of seq 6>", "prev_id": "ae_…",
     "digest": "<sha256 of the event's canonical JSON without `chain`>",
     "hash": "<sha256 of the canonical link>", "sig": "…", "key": "…"}

One chain per writer (one per gateway process, a random id per start), so workers and
hosts on one database never wait for each other: a chain's order is its writer's commit
order. `sig`/`key` appear on checkpoints only: an Ed25519 signature over the link.

A stream's event is written `open`, then completed (`update_audit`). The open row is a
link like any other; its completion is a new link of the same chain, taken when the
completion commits, stored under `chain.completion` of the same row. The open link keeps
its stored `digest`, so it stays verifiable as a link after its content was replaced;
the final content is covered by the completion link.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from tappass.audit.signing import CheckpointSigner

CHAIN_KEY = "chain"
VERSION = 1
GENESIS = "0" * 64              # `prev` of a chain's first link
OPEN_STATUS = "open"
LINK_FIELDS = ("seq", "prev", "prev_id", "digest", "hash")


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8, orjson's number format."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def content_digest(event: Mapping[str, Any]) -> str:
    """SHA-256 hex of the event's canonical JSON, the `chain` key left out."""
    if CHAIN_KEY in event:
        event = {key: value for key, value in event.items() if key != CHAIN_KEY}
    return hashlib.sha256(canonical(event)).hexdigest()


def link_hash(event_id: str, writer: str, seq: int, prev: str, prev_id: str | None,
              digest: str) -> str:
    return hashlib.sha256(canonical({
        "digest": digest, "id": event_id, "prev": prev, "prev_id": prev_id, "seq": seq,
        "v": VERSION, "writer": writer})).hexdigest()


def checkpoint_message(writer: str, seq: int, chain_hash: str) -> bytes:
    """What a checkpoint signs: the chain head (writer, position, hash)."""
    return b"tappass-audit-checkpoint/1\n" + canonical(
        {"hash": chain_hash, "seq": seq, "writer": writer})


def new_writer_id() -> str:
    return "w_" + secrets.token_hex(8)


def jsonl_line(event: Mapping[str, Any]) -> bytes:
    """One export line: the event exactly as `/v1/audit` returns it (chain included)."""
    return orjson.dumps(event) + b"\n"


@dataclass(slots=True)
class _Head:
    seq: int = 0
    hash: str = GENESIS
    id: str | None = None


@dataclass(slots=True)
class Sealed:
    """A batch's chain fields, computed but not yet committed."""

    head: _Head
    opened: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> open link
    completed: list[str] = field(default_factory=list)              # ids completed
    signatures: int = 0
    signed_seq: int = 0


class AuditChain:
    """The chain state of one writer (one gateway process).

    `seal()` adds chain fields to a batch of events; `commit()` makes them the chain head
    once the batch is durable. A failed write is simply not committed: the next batch
    takes the same positions again.
    """

    def __init__(self, signer: CheckpointSigner | None = None, *,
                 writer: str | None = None, checkpoint_events: int = 1000,
                 checkpoint_seconds: float = 10.0) -> None:
        self.writer = writer or new_writer_id()
        self._signer = signer
        self._checkpoint_events = checkpoint_events
        self._checkpoint_seconds = checkpoint_seconds
        self._head = _Head()
        self._open: dict[str, dict[str, Any]] = {}   # stream events awaiting completion
        self._signed_seq = 0
        self._signed_at = time.monotonic()
        self.checkpoints = 0

    @property
    def seq(self) -> int:
        return self._head.seq

    @property
    def signer(self) -> CheckpointSigner | None:
        return self._signer

    def info(self) -> dict[str, Any]:
        return {"writer": self.writer, "seq": self._head.seq, "checkpoints": self.checkpoints,
                "last_checkpoint_seq": self._signed_seq,
                "key_id": self._signer.key_id if self._signer else None}

    def seal(self, events: list[dict[str, Any]], *, completion: bool) -> Sealed:
        head = _Head(self._head.seq, self._head.hash, self._head.id)
        sealed = Sealed(head)
        last: dict[str, Any] | None = None
        for event in events:
            link = self._link(head, event)
            if link["seq"] == 1:
                self._sign(link, sealed)  # a signed genesis: no one starts a chain of their own
            if completion and (opened := self._open.get(event["id"])) is not None:
                event[CHAIN_KEY] = {**opened, "completion": link}
                sealed.completed.append(event["id"])
            else:
                link = event[CHAIN_KEY] = {"v": VERSION, "writer": self.writer, **link}
                if event.get("status") == OPEN_STATUS:
                    sealed.opened[event["id"]] = link
            last = link
        if last is not None and "sig" not in last and self._due(head.seq):
            self._sign(last, sealed)
        return sealed

    def commit(self, sealed: Sealed) -> None:
        if sealed.signatures:
            self._signed_seq, self._signed_at = sealed.signed_seq, time.monotonic()
            self.checkpoints += sealed.signatures
        self._head = sealed.head
        self._open.update(sealed.opened)
        for event_id in sealed.completed:
            self._open.pop(event_id, None)

    def _link(self, head: _Head, event: dict[str, Any]) -> dict[str, Any]:
        digest = content_digest(event)
        seq = head.seq + 1
        hashed = link_hash(event["id"], self.writer, seq, head.hash, head.id, digest)
        link = {"seq": seq, "prev": head.hash, "prev_id": head.id, "digest": digest,
                "hash": hashed}
        head.seq, head.hash, head.id = seq, hashed, event["id"]
        return link

    def _due(self, seq: int) -> bool:
        if self._signer is None:
            return False
        return (seq - self._signed_seq >= self._checkpoint_events
                or time.monotonic() - self._signed_at >= self._checkpoint_seconds)

    def _sign(self, link: dict[str, Any], sealed: Sealed) -> None:
        if self._signer is not None:
            link["sig"], link["key"] = self._signer.sign(self.writer, link["seq"], link["hash"])
            sealed.signatures += 1
            sealed.signed_seq = link["seq"]
