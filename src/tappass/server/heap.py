"""The serving process's garbage collector, settled once the gateway has started.

Start-up leaves tens of thousands of long-lived objects (modules, compiled pipelines, the
detectors' tables, settings) that CPython's full collections would otherwise walk again and
again under load: measured at ~40-60 µs of CPU per request on the bench, about a tenth of
the gateway's whole cost. `settle()` freezes the heap as start-up left it (it is never
scanned again; it stays reachable for the life of the process anyway; freezing is a list
splice, so start-up is not slowed by a full collection) and raises the young-generation
threshold, because a request frees almost everything it allocates by reference counting:
collections then run rarely and find a small heap. Only the served process does this
(`tappass up`), never an application built in a test or an embedding.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # net container allocations between two young collections


def settle() -> None:
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
