"""A table of records whose seeded part is made on demand: ``count`` records, the i-th
from ``make(i)`` under the key ``key_of(i)``, with an overlay of records changed, added or
handed out, and the keys deleted.

It is a ``MutableMapping``, so the routes and tests read it as the plain dict it replaces
(same keys, same order: seeded ones first, then those added). Reading an item through the
mapping keeps the record, because the caller may change it; the routes' read-only paths
use :meth:`peek` and :meth:`records`, which keep nothing, so a million-device fleet is
served with flat memory. :meth:`encoded_chunks` serves the whole table as JSON text,
chunk by chunk, caching chunks no record of which has changed.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from mdmbridge.simulation.lazy import BytesCache

K = TypeVar("K", bound=Hashable)
Record = dict[str, Any]

CHUNK = 500  # records per encoded chunk


def encode(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _no_key(index: int) -> Any:
    raise KeyError(index)  # a table without a seeded part has no seeded keys


class SeededTable(MutableMapping[K, Record], Generic[K]):
    """See the module docstring. ``index_of(key)`` is the seeded index of a key, or None."""

    def __init__(
        self,
        count: int = 0,
        key_of: Callable[[int], K] | None = None,
        make: Callable[[int], Record] | None = None,
        index_of: Callable[[K], int | None] | None = None,
        cache: BytesCache | None = None,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.count = count
        self._key_of: Callable[[int], K] = key_of or _no_key
        self._make = make or (lambda index: {})
        self._index_of = index_of or (lambda key: None)
        self._overlay: dict[K, Record] = {}  # seeded keys whose record was kept
        self._touched: set[int] = set()  # their indexes (and the deleted ones')
        self._deleted: set[K] = set()
        self._added: dict[K, Record] = {}
        self._cache = cache if cache is not None else BytesCache()
        # Held per chunk: a streamed answer is read after the route has returned.
        self._lock = lock if lock is not None else contextlib.nullcontext()

    # ------------------------------------------------------------------ seeded keys

    def _seeded(self, key: Any) -> int | None:
        if self.count == 0:
            return None
        index = self._index_of(key)
        if index is None or not 0 <= index < self.count or key in self._deleted:
            return None
        return index

    def place(self, key: K) -> int:
        """The key's place in table order (seeded keys first); KeyError when absent."""
        index = self._seeded(key)
        if index is not None:
            return index
        if key in self._added:
            return self.count + list(self._added).index(key)
        raise KeyError(key)

    def built(self) -> int:
        """Records kept as objects (changed, added or handed out)."""
        return len(self._overlay) + len(self._added)

    # ------------------------------------------------------------------ mapping

    def __getitem__(self, key: K) -> Record:
        record = self._overlay.get(key) or self._added.get(key)
        if record is not None:
            return record
        index = self._seeded(key)
        if index is None:
            raise KeyError(key)
        record = self._overlay[key] = self._make(index)
        self._touched.add(index)
        return record

    def __setitem__(self, key: K, value: Record) -> None:
        index = self._seeded(key)
        if index is None:
            self._added[key] = value
        else:
            self._overlay[key] = value
            self._touched.add(index)

    def __delitem__(self, key: K) -> None:
        if key in self._added:
            del self._added[key]
            return
        index = self._seeded(key)
        if index is None:
            raise KeyError(key)
        self._overlay.pop(key, None)
        self._deleted.add(key)
        self._touched.add(index)

    def __contains__(self, key: object) -> bool:
        return key in self._added or key in self._overlay or self._seeded(key) is not None

    def __iter__(self) -> Iterator[K]:
        for index in range(self.count):
            key = self._key_of(index)
            if key not in self._deleted:
                yield key
        yield from list(self._added)

    def __len__(self) -> int:
        return self.count - len(self._deleted) + len(self._added)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[K, Record]:
        """A plain dict of copies: what a test takes to prove a refusal changed nothing."""
        pairs = zip(self, self.records(), strict=True)
        return {key: copy.deepcopy(record, memo) for key, record in pairs}

    # ------------------------------------------------------------------ read-only paths

    def peek(self, key: Any) -> Record | None:
        """The record as it is now, without keeping it (None when there is none)."""
        record = self._overlay.get(key) or self._added.get(key)
        if record is not None:
            return record
        index = self._seeded(key)
        return None if index is None else self._make(index)

    def record_at(self, index: int) -> Record | None:
        """The seeded record at ``index`` as it is now (None once deleted), nothing kept."""
        return self._at(index) if 0 <= index < self.count else None

    def _at(self, index: int) -> Record | None:
        key = self._key_of(index)
        if index in self._touched:
            return None if key in self._deleted else self._overlay.get(key) or self._make(index)
        return self._make(index)

    def records(self) -> Iterator[Record]:
        """Every record in table order, made afresh where unchanged (nothing kept)."""
        for index in range(self.count):
            record = self._at(index)
            if record is not None:
                yield record
        yield from list(self._added.values())

    def encoded_chunks(self) -> Iterator[bytes]:
        """The table as a compact JSON array (UTF-8), in chunks of :data:`CHUNK` records."""
        first = True  # "[" goes out with the first records: no one-byte chunk
        for start in range(0, self.count, CHUNK):
            stop = min(start + CHUNK, self.count)
            key = (id(self), start)
            with self._lock:
                clean = not any(start <= i < stop for i in self._touched)
                text = self._cache.get(key) if clean else None
                if text is None:
                    records = [r for i in range(start, stop) if (r := self._at(i)) is not None]
                    text = ",".join(map(encode, records)).encode("utf-8")
                    if clean:
                        self._cache.put(key, text)
            if text:
                yield (b"[" if first else b",") + text
                first = False
        with self._lock:
            added = [encode(record) for record in self._added.values()]
        for record_text in added:
            yield (b"[" if first else b",") + record_text.encode("utf-8")
            first = False
        yield b"[]" if first else b"]"
