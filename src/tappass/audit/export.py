"""Audit export: the events matching a query, oldest first, rendered one per line.

The store is read one bounded page at a time by keyset (the insertion sequence), so an
export of millions of events never holds more than one page in memory, and a page is not
shifted by events written while the export runs (they are appended after the cursor).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from tappass.audit.formats import renderer

if TYPE_CHECKING:
    from tappass.storage.base import AuditQuery, Store

PAGE_SIZE = 500


async def export_lines(store: Store, query: AuditQuery, fmt: str, *,
                       limit: int | None = None,
                       page_size: int = PAGE_SIZE) -> AsyncIterator[str]:
    """Yield one rendered line per event (newline included), at most `limit` of them."""
    render = renderer(fmt)
    after, sent = 0, 0
    while limit is None or sent < limit:
        want = page_size if limit is None else min(page_size, limit - sent)
        page = await store.audit_page(after, want, query)
        for _, event in page:
            yield render(event) + "\n"
        sent += len(page)
        if len(page) < want:
            return
        after = page[-1][0]
