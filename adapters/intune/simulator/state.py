"""The simulator's storage: append-only ordered collections whose records may be generated
on first use, so a 100,000-device tenant seeds in a moment and a page costs O(page).

Positions never move: a deleted record leaves a hole, a new one is appended. That is what
lets a ``$skiptoken`` be a cursor ("continue after position p") that stays correct while
records are added and deleted during a listing, as Graph's own skiptokens do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Record = dict[str, Any]


class OrderedIds:
    """Ids in insertion order, with O(1) add, remove, membership and "iterate from p"."""

    def __init__(self) -> None:
        self._slots: list[str | None] = []
        self._position: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._position)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._position

    def add(self, item_id: str) -> int:
        if item_id in self._position:
            return self._position[item_id]
        self._position[item_id] = len(self._slots)
        self._slots.append(item_id)
        return len(self._slots) - 1

    def remove(self, item_id: str) -> bool:
        position = self._position.pop(item_id, None)
        if position is None:
            return False
        self._slots[position] = None
        return True

    def position(self, item_id: str) -> int | None:
        return self._position.get(item_id)

    @property
    def end(self) -> int:
        return len(self._slots)

    def from_position(self, start: int) -> Iterator[tuple[int, str]]:
        for position in range(max(0, start), len(self._slots)):
            item_id = self._slots[position]
            if item_id is not None:
                yield position, item_id

    def __iter__(self) -> Iterator[str]:
        for _, item_id in self.from_position(0):
            yield item_id


class Collection:
    """Records by id, in insertion order; seeded records are built by ``factory`` on first use."""

    def __init__(self, name: str, factory: Callable[[str, Any], Record] | None = None) -> None:
        self.name = name
        self.ids = OrderedIds()
        self._records: dict[str, Record] = {}
        self._pending: dict[str, Any] = {}
        self._factory = factory

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.ids

    def add(self, item_id: str, record: Record) -> None:
        self.ids.add(item_id)
        self._records[item_id] = record

    def add_lazy(self, item_id: str, seed: Any) -> None:
        """Register a record to be built by the factory from ``seed`` when first needed."""
        self.ids.add(item_id)
        self._pending[item_id] = seed

    def get(self, item_id: str) -> Record | None:
        record = self._records.get(item_id)
        if record is not None:
            return record
        if item_id not in self._pending:
            return None
        assert self._factory is not None, f"{self.name}: lazy record without a factory"
        record = self._factory(item_id, self._pending.pop(item_id))
        self._records[item_id] = record
        return record

    def delete(self, item_id: str) -> Record | None:
        record = self.get(item_id)
        if record is None:
            return None
        self.ids.remove(item_id)
        del self._records[item_id]
        return record

    def from_position(self, start: int) -> Iterator[tuple[int, Record]]:
        for position, item_id in self.ids.from_position(start):
            record = self.get(item_id)
            if record is not None:
                yield position, record

    def all(self) -> Iterator[Record]:
        for _, record in self.from_position(0):
            yield record

    @property
    def end(self) -> int:
        return self.ids.end
