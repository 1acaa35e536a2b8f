"""The ezmdm simulator's memory: ids and their kinds, each kind's list order, the records,
the owner indexes (group -> users, user -> devices, device -> locations) and the paging-bug
hooks' pending rules.

Ids are 30 random digits drawn from a seeded generator, like the vendor's example; every
list keeps insertion order, so paging is stable while records move between owners. The
seeding (``seed.py``) and the routes (``routes.py``) build on :class:`EzmdmState`.
"""

from __future__ import annotations

import bisect
import random
import threading
from typing import Any

from mdmbridge.simulation.seed import FleetGenerator

GROUP = "group"
USER = "user"
DEVICE = "device"
LOCATION = "devicelocation"
ITEMS = (GROUP, USER, DEVICE, LOCATION)

_ID_LOW = 10**29  # ids are 30 digits, first digit non-zero, like the vendor's example
_ID_SPAN = 9 * 10**29

Record = dict[str, Any]


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
        self._id_rng = random.Random(f"ezmdm:ids:{seed}")
        # id -> (item kind, position in that kind's insertion order)
        self._meta: dict[str, tuple[str, int]] = {}
        self._order: dict[str, list[str]] = {kind: [] for kind in ITEMS}
        self._objects: dict[str, Record] = {}  # materialised records
        self._pending: dict[str, tuple[Any, ...]] = {}  # seeded, not yet materialised
        self._users_by_group: dict[str, list[str]] = {}
        self._devices_by_user: dict[str, list[str]] = {}
        self._locations_by_device: dict[str, list[str]] = {}
        self._short_pages: list[list[int]] = []  # [page, missing, remaining]
        self._drifts: list[list[int]] = []  # [by, remaining]

    def _kind_of(self, item_id: str) -> str | None:
        meta = self._meta.get(item_id)
        return None if meta is None else meta[0]

    def _new_id(self) -> str:
        while True:
            item_id = str(_ID_LOW + self._id_rng.randrange(_ID_SPAN))
            if item_id not in self._meta:
                return item_id

    def _register(self, kind: str) -> str:
        item_id = self._new_id()
        order = self._order[kind]
        self._meta[item_id] = (kind, len(order))
        order.append(item_id)
        return item_id

    def _index_insert(self, index: dict[str, list[str]], key: str, item_id: str) -> None:
        """Insert keeping the list in insertion order of the items (stable paging)."""
        bucket = index.setdefault(key, [])
        position = bisect.bisect_left(
            bucket, self._meta[item_id][1], key=lambda other: self._meta[other][1]
        )
        bucket.insert(position, item_id)

    def _index_remove(self, index: dict[str, list[str]], key: str, item_id: str) -> None:
        bucket = index.get(key)
        if not bucket:
            return
        position = bisect.bisect_left(
            bucket, self._meta[item_id][1], key=lambda other: self._meta[other][1]
        )
        if position < len(bucket) and bucket[position] == item_id:
            del bucket[position]
        if not bucket:
            del index[key]

    def _move(
        self, index: dict[str, list[str]], old: str | None, new: str | None, item_id: str
    ) -> None:
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
