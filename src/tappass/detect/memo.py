"""A detector's findings remembered per text, for texts that come back request after request.

Agents send the same system prompt (and often the same tool descriptions and documents)
with every request; a detector is a pure function of its text, so its findings for a text
seen before are looked up instead of computed again. Each step wraps its own detector, so
the memory belongs to one pipeline's step and goes when the pipeline is rebuilt.

The memory is a bounded LRU keyed by a 128-bit BLAKE2b digest of the text: the text itself
is never kept, and findings carry types, spans and scores, never values. The gateway runs
steps on its event-loop thread; a lookup that races an eviction from another thread is a
miss, never an error.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable

from tappass.pipeline.step import Finding

Detector = Callable[[str], list[Finding]]

MEMO_SIZE = 1024     # texts remembered per step: a few hundred bytes each at most


def text_key(text: str) -> bytes:
    """The memo key of a text: BLAKE2b-128 of its UTF-8 bytes (lone surrogates kept)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Memo:
    """`detector` with its findings remembered for the last `size` distinct texts."""

    __slots__ = ("detector", "_size", "_seen")

    def __init__(self, detector: Detector, size: int = MEMO_SIZE) -> None:
        if size < 1:
            raise ValueError("Memo size must be at least 1")
        self.detector = detector
        self._size = size
        self._seen: OrderedDict[bytes, tuple[Finding, ...]] = OrderedDict()

    def __call__(self, text: str) -> list[Finding]:
        key = text_key(text)
        found = self._seen.get(key)
        if found is not None:
            try:
                self._seen.move_to_end(key)
            except KeyError:        # evicted by another thread meanwhile: still a valid answer
                pass
            return list(found)
        fresh = self.detector(text)
        self._seen[key] = tuple(fresh)
        while len(self._seen) > self._size:
            try:
                self._seen.popitem(last=False)
            except KeyError:
                break
        return fresh

    def clear(self) -> None:
        self._seen.clear()

    def __len__(self) -> int:
        return len(self._seen)
