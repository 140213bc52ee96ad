"""Keyset pages of the audit trail (exports read the store this way), on every backend."""

from __future__ import annotations

from typing import Any

from tappass.audit.export import export_lines
from tappass.storage.base import AuditQuery, Store
from tests.storage.test_store import at, event


async def _all_pages(store: Store, query: AuditQuery, size: int) -> list[str]:
    ids: list[str] = []
    after = 0
    while True:
        page = await store.audit_page(after, size, query)
        ids += [body["id"] for _, body in page]
        if len(page) < size:
            return ids
        assert [seq for seq, _ in page] == sorted(seq for seq, _ in page)
        after = page[-1][0]


async def test_pages_walk_every_matching_event_oldest_first(store: Store) -> None:
    await store.append_audit([event(n, agent="alpha" if n % 2 else "beta",
                                    blocked=n % 3 == 0) for n in range(1, 12)])
    assert await _all_pages(store, AuditQuery(), 4) == [f"ae_{n:04d}" for n in range(1, 12)]
    assert await _all_pages(store, AuditQuery(agent="alpha", blocked=True), 2) == [
        "ae_0003", "ae_0009"]
    assert await _all_pages(store, AuditQuery(after=at(4), before=at(8)), 3) == [
        "ae_0005", "ae_0006", "ae_0007"]


async def test_events_written_during_an_export_do_not_shift_its_pages(store: Store) -> None:
    await store.append_audit([event(n) for n in range(1, 6)])
    seen: list[Any] = []
    async for line in export_lines(store, AuditQuery(), "jsonl", page_size=2):
        seen.append(line)
        if len(seen) == 1:
            await store.append_audit([event(n) for n in range(6, 8)])
    assert len(seen) == 7 and all(line.endswith("\n") for line in seen)


async def test_export_limit_stops_early(store: Store) -> None:
    await store.append_audit([event(n) for n in range(1, 6)])
    lines = [line async for line in export_lines(store, AuditQuery(), "cef", limit=3,
                                                 page_size=2)]
    assert len(lines) == 3 and lines[2].startswith("CEF:0|") and "externalId=ae_0003" in lines[2]
