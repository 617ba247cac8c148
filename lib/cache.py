"""A bounded result cache: identical queries within a time-to-live are answered from memory.

Keys name the engine, the SQL and the user's account scope, so a result is only ever served
for the same statement on the same engine to a user with the same scope (the scope is also
inside the SQL; keying on it again keeps a scope bug from leaking results across users).
Entries are bounded twice: by count and by the memory their tables hold; the least recently
used go first. Hand-written rather than cachetools because that bounds one measure only.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")

MAX_ENTRIES = 256
MAX_BYTES = 256 * 1024 * 1024


def cache_key(engine: str, sql: str, scope_key: str) -> str:
    """A short fixed-size key (the SQL of the embedded engine can be long)."""
    digest = hashlib.sha256()
    for part in (engine, scope_key, sql):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class _Entry(Generic[V]):
    value: V
    size: int
    expires: float


class ResultCache(Generic[V]):
    """Thread-safe TTL + LRU cache bounded by entries and by bytes (``size_of`` of a value)."""

    def __init__(self, ttl_s: float, size_of: Callable[[V], int], max_entries: int = MAX_ENTRIES,
                 max_bytes: int = MAX_BYTES, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._clock = clock
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0 and self.max_entries > 0

    def get(self, key: str) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= self._clock():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry.value

    def put(self, key: str, value: V) -> None:
        if not self.enabled:
            return
        size = self._size_of(value)
        if size > self.max_bytes:
            return  # one huge result must not flush everything else
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(value, size, self._clock() + self.ttl_s)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size
