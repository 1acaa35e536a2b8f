"""The ezmdm simulator's memory: ids and their kinds, each kind's list order, the records
changed or handed out (over a seeded base made on demand), the owner indexes (group ->
users, user -> devices, device -> locations) and the paging-bug hooks' pending rules.

Ids are 30 random digits drawn from one seeded generator, like the vendor's example; every
list keeps insertion order, so paging is stable while records move between owners. The
seeded base (``seed.py``) answers the hooks this class leaves to it (:meth:`_seeded_where`,
:meth:`_seeded_record`, :meth:`_seeded_indexes`); the routes (``routes.py``) build on both.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Callable, Iterator, MutableSequence
from typing import Any, overload

from mdmbridge.simulation.lazy import BytesCache, Replay
from mdmbridge.simulation.seed import FleetGenerator

GROUP = "group"
USER = "user"
DEVICE = "device"
LOCATION = "devicelocation"
ITEMS = (GROUP, USER, DEVICE, LOCATION)

_ID_LOW = 10**29  # ids are 30 digits, first digit non-zero, like the vendor's example
_ID_SPAN = 9 * 10**29
_RECENT_MAX = 100_000  # ids recently listed, remembered with their place (see SeededOrder)

Record = dict[str, Any]
Where = tuple[str, int]  # (item kind, position in that kind's list order)
Index = dict[str, list[str]]


def draw_id(rng: random.Random, _n: int) -> str:
    return str(_ID_LOW + rng.randrange(_ID_SPAN))


class SeededOrder(MutableSequence[str]):
    """One kind's ids in list order: ``base`` seeded ones computed by ``id_at`` on demand,
    then those added later. Slices remember their ids' places in ``recent``, so serving a
    page never needs the reverse index of a million ids."""

    def __init__(
        self,
        kind: str,
        base: Callable[[], int],
        id_at: Callable[[int], str],
        recent: dict[str, Where],
    ) -> None:
        self._kind = kind
        self._base_len: int | None = None
        self._base = base
        self._id_at = id_at
        self._recent = recent
        self._extra: list[str] = []
        self._replaced: dict[int, str] = {}  # tests may overwrite a place (a vendor bug)

    @property
    def base_len(self) -> int:
        if self._base_len is None:
            self._base_len = self._base()
        return self._base_len

    def __len__(self) -> int:
        return self.base_len + len(self._extra)

    def _at(self, position: int) -> str:
        replaced = self._replaced.get(position)
        if replaced is not None:
            return replaced
        if position >= self.base_len:
            return self._extra[position - self.base_len]
        item_id = self._id_at(position)
        if len(self._recent) >= _RECENT_MAX:
            self._recent.clear()
        self._recent[item_id] = (self._kind, position)
        return item_id

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._at(p) for p in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._at(index)

    def __iter__(self) -> Iterator[str]:
        for position in range(len(self)):
            yield self._at(position)

    def __eq__(self, other: object) -> bool:
        """Equal to a list holding the same ids in the same order, as the list it replaces."""
        if not isinstance(other, (list, tuple, SeededOrder)):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __setitem__(self, index: Any, value: Any) -> None:
        if not isinstance(index, int):
            raise TypeError("a seeded order takes one place at a time")
        self._replaced[index % len(self)] = value

    def __delitem__(self, index: Any) -> None:
        raise TypeError("ezmdm deletes nothing")

    def insert(self, index: int, value: str) -> None:
        if index < len(self):
            raise TypeError("a seeded order only grows at its end")
        self._extra.append(value)


class EzmdmState:
    """Storage shared by the seeding, the routes and the test hooks; all under ``_lock``."""

    def __init__(self, *, api_key: str, seed: int, max_page_size: int) -> None:
        self.api_key = api_key
        self.seed = seed
        self.max_page_size = max_page_size
        self.pushes: list[str] = []
        self.list_requests: int = 0
        self._lock = threading.RLock()
        self._gen = FleetGenerator(seed)
        self._ids: Replay[str] = Replay(f"ezmdm:ids:{seed}", draw_id)
        self._next_position: Callable[[], int] = lambda: 0  # the id stream's next place
        self._position: int | None = None
        # Ids drawn after seeding (and the seeded groups): id -> (kind, list position).
        self._meta: dict[str, Where] = {}
        self._recent: dict[str, Where] = {}
        self._order: dict[str, MutableSequence[str]] = {kind: [] for kind in ITEMS}
        self._objects: dict[str, Record] = {}  # records changed, created or handed out
        self._version = 0  # bumped whenever a record may change: cached pages then expire
        self._pages = BytesCache()
        self._indexes: tuple[Index, Index, Index] | None = None
        self._short_pages: list[list[int]] = []  # [page, missing, remaining]
        self._drifts: list[list[int]] = []  # [by, remaining]

    # ------------------------------------------------------------------ hooks of seed.py

    def _seeded_where(self, item_id: str) -> Where | None:
        return None

    def _seeded_record(self, kind: str, position: int) -> Record:
        raise KeyError(position)

    def _seeded_indexes(self) -> tuple[Index, Index, Index]:
        return {}, {}, {}

    # ------------------------------------------------------------------ lookups

    def _where(self, item_id: str) -> Where | None:
        return self._meta.get(item_id) or self._recent.get(item_id) or self._seeded_where(item_id)

    def _kind_of(self, item_id: str) -> str | None:
        where = self._where(item_id)
        return None if where is None else where[0]

    def _peek(self, item_id: str) -> Record:
        """The record as served, made afresh when unchanged (never kept: flat memory)."""
        record = self._objects.get(item_id)
        if record is not None:
            return record
        where = self._where(item_id)
        if where is None:
            raise KeyError(item_id)
        return self._seeded_record(*where)

    def _obj(self, item_id: str) -> Record:
        """The live record for an id, kept from now on, because the caller may change it."""
        record = self._objects.get(item_id)
        if record is None:
            record = self._peek(item_id)
            self._objects[item_id] = record
        self._version += 1
        return record

    # ------------------------------------------------------------------ owner indexes

    def _owner_indexes(self) -> tuple[Index, Index, Index]:
        if self._indexes is None:  # built on first use: a child listing or a move
            self._indexes = self._seeded_indexes()
        return self._indexes

    @property
    def _users_by_group(self) -> Index:
        return self._owner_indexes()[0]

    @property
    def _devices_by_user(self) -> Index:
        return self._owner_indexes()[1]

    @property
    def _locations_by_device(self) -> Index:
        return self._owner_indexes()[2]

    # ------------------------------------------------------------------ ids

    def _new_id(self) -> str:
        if self._position is None:
            self._position = self._next_position()
        while True:
            item_id = self._ids[self._position]
            self._position += 1
            # A clash of two 30-digit random ids is checked against the ids added later;
            # against the seeded ones it would need their reverse index, for a chance of 1e-23.
            if item_id not in self._meta:
                return item_id

    def _register(self, kind: str) -> str:
        item_id = self._new_id()
        order = self._order[kind]
        self._meta[item_id] = (kind, len(order))
        order.append(item_id)
        self._version += 1
        return item_id

    def _place(self, item_id: str) -> int:
        where = self._where(item_id)
        return -1 if where is None else where[1]

    def _index_insert(self, index: Index, key: str, item_id: str) -> None:
        """Insert keeping the list in insertion order of the items (stable paging)."""
        bucket = index.setdefault(key, [])
        position = bisect.bisect_left(bucket, self._place(item_id), key=self._place)
        bucket.insert(position, item_id)

    def _index_remove(self, index: Index, key: str, item_id: str) -> None:
        bucket = index.get(key)
        if not bucket:
            return
        position = bisect.bisect_left(bucket, self._place(item_id), key=self._place)
        if position < len(bucket) and bucket[position] == item_id:
            del bucket[position]
        if not bucket:
            del index[key]

    def _move(self, index: Index, old: str | None, new: str | None, item_id: str) -> None:
        if old == new:
            return
        if old is not None:
            self._index_remove(index, old, item_id)
        if new is not None:
            self._index_insert(index, new, item_id)

    def _add_group(self, name: str) -> str:
        group_id = self._register(GROUP)
        self._objects[group_id] = {"id": group_id, "name": name}
        return group_id

    def _add_user(
        self, name: str, group_id: str | None, email: str | None, phone: str | None
    ) -> str:
        user_id = self._register(USER)
        self._objects[user_id] = {
            "id": user_id,
            "groupId": group_id,
            "name": name,
            "email": email,
            "phone": phone,
        }
        if group_id is not None:
            self._index_insert(self._users_by_group, group_id, user_id)
        return user_id
