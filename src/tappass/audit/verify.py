"""Verify audit events against their hash chains and signed checkpoints.

Events are fed in write order (the store's row order, which is each writer's commit
order; an export lists them in that order). The verifier keeps a little state per writer,
so a whole table or export streams through it. It stops at the first problem:

- edited: an event's content or chain fields no longer match its hashes;
- deleted: a chain position is missing (the id of the missing event is named when the
  next link records it as `prev_id`);
- inserted: an event without chain fields after chaining began, a second event at a
  position, or a chain that does not start with a signed checkpoint (with a public key);
- reordered: an event that comes before an earlier position of its chain;
- signature: a checkpoint whose Ed25519 signature does not verify with the public key.

Unchained events before chaining began (written before migration 0006) are legacy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from tappass.audit.chain import CHAIN_KEY, GENESIS, LINK_FIELDS, content_digest, link_hash
from tappass.audit.signing import key_id, verify_checkpoint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from tappass.storage.base import Store

REORDER_WINDOW = 256  # positions a writer's events may arrive early before a gap is a deletion
INTERRUPTED_STATUS = "interrupted"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str          # edited | deleted | inserted | reordered | signature
    event_id: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "event_id": self.event_id, "detail": self.detail}


@dataclass(slots=True)
class Report:
    events: int = 0
    chained: int = 0
    legacy: int = 0
    links: int = 0
    checkpoints: int = 0
    writers: dict[str, dict[str, int]] = field(default_factory=dict)
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "chained": self.chained,
                "legacy": self.legacy, "links": self.links, "checkpoints": self.checkpoints,
                "writers": self.writers,
                "problem": self.problem.as_dict() if self.problem else None}


class ChainProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


@dataclass(slots=True)
class _Link:
    event_id: str
    seq: int
    prev: str
    prev_id: str | None
    hash: str
    signed: bool


@dataclass(slots=True)
class _Writer:
    name: str
    expected: int = 1
    last_hash: str = GENESIS
    last_id: str | None = None
    last_signed: int = 0
    future: dict[int, _Link] = field(default_factory=dict)   # completion links, early
    ahead: dict[int, _Link] = field(default_factory=dict)    # main links, early
    taken: dict[int, _Link] = field(default_factory=dict)    # recent positions
    suspect: _Link | None = None                             # a second event at a position


class Verifier:
    def __init__(self, public_key: Ed25519PublicKey | None = None, *,
                 legacy_until: int | None = None) -> None:
        """`legacy_until`: unchained events at or before this row position are legacy; None
        means "until the first chained event" (an export has no row positions)."""
        self._key = public_key
        self._key_id = None if public_key is None else key_id(public_key)
        self._legacy_until = legacy_until
        self._writers: dict[str, _Writer] = {}
        self._chaining = False
        self.report = Report()

    def feed(self, event: Mapping[str, Any], position: int | None = None) -> bool:
        """Check one event; False once a problem is found (then `report.problem` says it)."""
        if self.report.problem is not None:
            return False
        self.report.events += 1
        try:
            self._check(event, position)
        except ChainProblem as exc:
            self.report.problem = exc.problem
            return False
        return True

    def finish(self) -> Report:
        if self.report.problem is None:
            try:
                for writer in self._writers.values():
                    self._finish_writer(writer)
            except ChainProblem as exc:
                self.report.problem = exc.problem
        for writer in self._writers.values():
            self.report.writers[writer.name] = {
                "events": writer.expected - 1,
                "unsigned_tail": writer.expected - 1 - writer.last_signed}
        return self.report

    # -- one event -------------------------------------------------------------------

    def _check(self, event: Mapping[str, Any], position: int | None) -> None:
        event_id = str(event.get("id"))
        chain = event.get(CHAIN_KEY)
        if chain is None:
            self._unchained(event_id, position)
            return
        self._chaining = True
        self.report.chained += 1
        if not isinstance(chain, dict) or not isinstance(chain.get("writer"), str):
            raise _edited(event_id, "its chain fields are malformed")
        main = self._link(event_id, chain["writer"], chain)
        completion = chain.get("completion")
        done = self._link(event_id, chain["writer"], completion) if completion else None
        expected = (completion or chain)["digest"]
        if content_digest(event) != expected and not self._interrupted(event, chain):
            raise _edited(event_id, "its content does not match its hash")
        writer = self._writers.setdefault(chain["writer"], _Writer(chain["writer"]))
        if done is not None:
            if done.seq <= main.seq or done.seq < writer.expected:
                raise _inserted(event_id, f"its completion claims position {done.seq} of "
                                f"chain {writer.name}, already taken")
            writer.future[done.seq] = done
        self._place(writer, main)

    def _unchained(self, event_id: str, position: int | None) -> None:
        legacy = (not self._chaining if self._legacy_until is None or position is None
                  else position <= self._legacy_until)
        if not legacy:
            raise _inserted(event_id, "it has no chain fields but was written after "
                            "chaining began")
        self.report.legacy += 1

    def _interrupted(self, event: Mapping[str, Any], chain: Mapping[str, Any]) -> bool:
        """An open stream the start-up sweep marked interrupted: its open form matches."""
        if event.get("status") != INTERRUPTED_STATUS or "completion" in chain:
            return False
        return bool(content_digest({**event, "status": "open", "error": None}) == chain["digest"])

    def _link(self, event_id: str, writer: str, fields: Any) -> _Link:
        if not isinstance(fields, dict) or any(name not in fields for name in LINK_FIELDS):
            raise _edited(event_id, "its chain fields are malformed")
        seq, prev, prev_id, digest = (fields["seq"], fields["prev"], fields["prev_id"],
                                      fields["digest"])
        if not isinstance(seq, int) or not all(isinstance(v, str) for v in (prev, digest)):
            raise _edited(event_id, "its chain fields are malformed")
        if fields["hash"] != link_hash(event_id, writer, seq, prev, prev_id, digest):
            raise _edited(event_id, f"its chain link (chain {writer}, position {seq}) does "
                          "not match its hash")
        self.report.links += 1
        signed = "sig" in fields
        if signed and self._key is not None:
            self._check_signature(event_id, writer, fields)
        return _Link(event_id, seq, prev, prev_id, fields["hash"], signed)

    def _check_signature(self, event_id: str, writer: str, fields: Mapping[str, Any]) -> None:
        assert self._key is not None
        if fields.get("key") != self._key_id:
            raise ChainProblem(Problem("signature", event_id, (
                f"its checkpoint is signed by key {fields.get('key')}, not by the given "
                f"public key ({self._key_id})")))
        if not verify_checkpoint(self._key, writer, fields["seq"], fields["hash"],
                                 str(fields["sig"])):
            raise ChainProblem(Problem("signature", event_id, "its checkpoint signature "
                                       "does not verify with the given public key"))
        self.report.checkpoints += 1

    # -- order ----------------------------------------------------------------------------

    def _place(self, writer: _Writer, link: _Link) -> None:
        self._drain(writer)
        if link.seq == writer.expected:
            if writer.ahead:
                first = min(writer.ahead.values(), key=lambda early: early.seq)
                raise ChainProblem(Problem("reordered", first.event_id, (
                    f"it (position {first.seq} of chain {writer.name}) comes before "
                    f"{link.event_id} (position {link.seq})")))
            self._consume(writer, link)
            self._drain(writer)
        elif link.seq < writer.expected:
            self._duplicate(writer, link)
        else:
            writer.ahead[link.seq] = link
            if len(writer.ahead) > REORDER_WINDOW:
                raise self._gap(writer)

    def _drain(self, writer: _Writer) -> None:
        while writer.expected in writer.future:
            self._consume(writer, writer.future.pop(writer.expected))

    def _consume(self, writer: _Writer, link: _Link) -> None:
        if writer.suspect is not None:
            self._resolve_suspect(writer, link)
        if (link.prev, link.prev_id) != (writer.last_hash, writer.last_id):
            raise _edited(writer.last_id or link.event_id, (
                f"{link.event_id} (position {link.seq} of chain {writer.name}) does not "
                f"chain to the event before it"))
        if link.seq == 1 and self._key is not None and not link.signed:
            raise _inserted(link.event_id, f"chain {writer.name} does not start with a "
                            "signed checkpoint")
        writer.expected, writer.last_hash, writer.last_id = link.seq + 1, link.hash, link.event_id
        if link.signed:
            writer.last_signed = link.seq
        writer.taken[link.seq] = link
        writer.taken.pop(link.seq - REORDER_WINDOW, None)

    def _duplicate(self, writer: _Writer, link: _Link) -> None:
        """A second event at a position: the one the next link does not chain to is the
        insertion."""
        taken = writer.taken.get(link.seq)
        if taken is None or taken.hash == link.hash or writer.suspect is not None:
            raise _inserted(link.event_id, f"position {link.seq} of chain {writer.name} is "
                            "already taken")
        following = writer.taken.get(link.seq + 1)
        if following is None:
            writer.suspect = link  # decided by the next link
            return
        impostor = taken if following.prev == link.hash else link
        raise _inserted(impostor.event_id, f"a second event at position {link.seq} of chain "
                        f"{writer.name}")

    def _resolve_suspect(self, writer: _Writer, link: _Link) -> None:
        suspect, writer.suspect = writer.suspect, None
        assert suspect is not None
        taken = writer.taken[suspect.seq]
        impostor = taken if link.prev == suspect.hash else suspect
        raise _inserted(impostor.event_id, f"a second event at position {suspect.seq} of "
                        f"chain {writer.name}")

    def _finish_writer(self, writer: _Writer) -> None:
        if writer.suspect is not None:
            raise _inserted(writer.suspect.event_id, f"a second event at position "
                            f"{writer.suspect.seq} of chain {writer.name}")
        if writer.ahead or writer.future:
            raise self._gap(writer)

    def _gap(self, writer: _Writer) -> ChainProblem:
        after = min([*writer.ahead.values(), *writer.future.values()], key=lambda x: x.seq)
        missing = (f"position {writer.expected}" if after.seq == writer.expected + 1
                   else f"positions {writer.expected}..{after.seq - 1}")
        return ChainProblem(Problem("deleted", after.prev_id, (
            f"{missing} of chain {writer.name} missing; {after.event_id} (position "
            f"{after.seq}) chains to {after.prev_id}")))


def _edited(event_id: str, detail: str) -> ChainProblem:
    return ChainProblem(Problem("edited", event_id, detail))


def _inserted(event_id: str, detail: str) -> ChainProblem:
    return ChainProblem(Problem("inserted", event_id, detail))



LEGACY_META_KEY = "audit_chain_legacy_until"  # set by migration 0006
PAGE_SIZE = 1000
RECHECKS = 2


async def verify_store(store: Store, public_key: Ed25519PublicKey | None = None) -> Report:
    """Verify the whole audit trail of a store, page by page in write order.

    On PostgreSQL a row position is taken at insert and becomes visible at commit, so a
    pass over a live database can page past a batch that commits a moment later and see
    its position as missing. A `deleted` result is therefore checked by another pass (a
    real deletion is still missing then); every other result is final.
    """
    report = await _verify_pass(store, public_key)
    for _ in range(RECHECKS):
        if report.problem is None or report.problem.kind != "deleted":
            break
        report = await _verify_pass(store, public_key)
    return report


async def _verify_pass(store: Store, public_key: Ed25519PublicKey | None) -> Report:
    legacy = await store.get_meta(LEGACY_META_KEY)
    verifier = Verifier(public_key, legacy_until=int(legacy) if legacy else 0)
    position = 0
    while page := await store.audit_page(position, PAGE_SIZE):
        for position, event in page:
            if not verifier.feed(event, position):
                return verifier.finish()
    return verifier.finish()


def verify_lines(lines: Iterable[bytes | str],
                 public_key: Ed25519PublicKey | None = None) -> Report:
    """Verify an export: one event per line (JSONL), in the export's (write) order."""
    verifier = Verifier(public_key)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not JSON ({exc})") from None
        if not isinstance(event, dict):
            raise ValueError(f"line {number}: expected an audit event object")
        if not verifier.feed(event):
            break
    return verifier.finish()
