"""The DuoSTATION simulator's memory: the tables of records, the id counters, the indexes,
and the few lookups every resource's routes share.

The routes (``routes_*.py``) and the seeding (``seed.py``) are mixins over
:class:`DuoStationState`, so all of them work on the one set of tables under the one lock,
and the finished :class:`~.app.DuoStationSimulator` keeps the public state tests inspect.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from mdmbridge.simulation.lazy import BytesCache
from mdmbridge.simulation.server import SimResponse

from .answers import Refused, created
from .table import SeededTable

Record = dict[str, Any]


def find(table: Mapping[Any, Record], key: Any, what: str) -> Record:
    """The record under ``key``; a 404 naming ``what`` when there is none."""
    record = table.get(key)
    if record is None:
        raise Refused(404, f"{what} {key} was not found.")
    return record


class DuoStationState:
    """The tables, counters and indexes of one simulator (shapes: see
    :class:`~.app.DuoStationSimulator`), and the lookups its handlers share."""

    def __init__(self, *, username: str, password: str, id_shape: str) -> None:
        self.username = username
        self.password = password
        self.id_shape = id_shape
        self.lock = threading.RLock()
        # Encoded chunks of the seeded tables, shared by them: a 500,000-device listing fits.
        self._chunks = BytesCache(256 * 1024 * 1024)
        self.groups: dict[int, Record] = {}
        # The tables a fleet makes large are seeded on demand (see table.py).
        self.users: SeededTable[int] = SeededTable(lock=self.lock)
        self.devices: SeededTable[str] = SeededTable(lock=self.lock)
        self.tags: dict[int, Record] = {}
        self.device_tags: SeededTable[int] = SeededTable(lock=self.lock)
        self.user_tags: SeededTable[int] = SeededTable(lock=self.lock)
        self.group_tags: dict[int, Record] = {}
        self.apps: dict[int, Record] = {}
        self.commands: list[tuple[str, str, dict[str, Any]]] = []
        self._counters: dict[str, int] = {}
        # Indexes, so lookups stay fast on a large fleet; each is built from the tables the
        # first time a lookup needs it (a whole-fleet listing needs none), then maintained.
        self._by_user: dict[int, set[str]] | None = None
        self._by_serial: dict[str, set[str]] | None = None
        self._by_email: dict[str, set[int]] | None = None

    # ------------------------------------------------------------------ ids

    def _next_id(self, kind: str) -> int:
        """Every resource has its own sequence from 1; ids are never reused."""
        value = self._counters.get(kind, 0) + 1
        self._counters[kind] = value
        return value

    def _created(self, new_id: int) -> SimResponse:
        return created(new_id, self.id_shape)

    def _group_ref(self, group_id: int | None, field: str = "groupId") -> int | None:
        """A group id from a body: None/0 mean no group; anything else must exist."""
        if not group_id:
            return None
        if group_id not in self.groups:
            raise Refused(404, f"Group {group_id} ({field}) was not found.")
        return group_id

    # ------------------------------------------------------------------ group paths

    def group_path(self, group_id: int) -> str:
        """The group's ``Path``: names from the top, joined with a backslash."""
        with self.lock:
            return "\\".join(self._path_names(group_id, {}))

    def _path_names(self, group_id: int, cache: dict[int, list[str]]) -> list[str]:
        chain: list[int] = []
        current = group_id
        while current and current in self.groups and current not in cache:
            if current in chain:  # a cycle cannot be built through the API; stay safe anyway
                break
            chain.append(current)
            current = self.groups[current]["ParentId"]
        names = list(cache.get(current, []))
        for gid in reversed(chain):
            names = [*names, self.groups[gid]["Name"]]
            cache[gid] = names
        return cache.get(group_id, names)

    def _group_out(self, group: Record, cache: dict[int, list[str]]) -> Record:
        """A group as served: the stored record with its derived ``Path``."""
        return {
            "Id": group["Id"],
            "Name": group["Name"],
            "ParentId": group["ParentId"],
            "Path": "\\".join(self._path_names(group["Id"], cache)),
            "Number": group["Number"],
            "Notes": group["Notes"],
            "LostModeMessage": group["LostModeMessage"],
            "LostModePhoneNumber": group["LostModePhoneNumber"],
            "LostModeFootNode": group["LostModeFootNode"],
        }

    # ------------------------------------------------------------------ indexes

    @property
    def _devices_by_user(self) -> dict[int, set[str]]:
        if self._by_user is None:
            self._by_user = {}
            for device in self.devices.records():
                if device["UserId"] is not None:
                    self._by_user.setdefault(device["UserId"], set()).add(device["Id"])
        return self._by_user

    @property
    def _devices_by_serial(self) -> dict[str, set[str]]:
        if self._by_serial is None:  # serials never change: no upkeep needed
            self._by_serial = {}
            for device in self.devices.records():
                key = device["SerialNumber"].casefold()
                self._by_serial.setdefault(key, set()).add(device["Id"])
        return self._by_serial

    @property
    def _users_by_email(self) -> dict[str, set[int]]:
        if self._by_email is None:
            self._by_email = {}
            for user in self.users.records():
                if user["Email"] is not None:
                    key = user["Email"].strip().casefold()
                    self._by_email.setdefault(key, set()).add(user["Id"])
        return self._by_email

    def _device_order(self, device_id: str) -> int:
        """A device's place in the listing (devices are never added through the API)."""
        return self.devices.place(device_id)

    def _index_email(self, user_id: int, old: str | None, new: str | None) -> None:
        if self._by_email is None:
            return  # built later from the records as they are then
        if old is not None:
            bucket = self._users_by_email.get(old.strip().casefold())
            if bucket is not None:
                bucket.discard(user_id)
                if not bucket:
                    del self._users_by_email[old.strip().casefold()]
        if new is not None:
            self._users_by_email.setdefault(new.strip().casefold(), set()).add(user_id)

    def _link_device(self, device_id: str, old_user: int | None, new_user: int) -> None:
        """Keep the user -> devices index when a device changes hands."""
        if self._by_user is None:
            return  # built later from the records as they are then
        if old_user is not None and old_user != new_user:
            bucket = self._by_user.get(old_user)
            if bucket is not None:
                bucket.discard(device_id)
                if not bucket:
                    del self._by_user[old_user]
        self._by_user.setdefault(new_user, set()).add(device_id)
