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

from mdmbridge.simulation.server import SimResponse

from .answers import Refused, created

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
        self.groups: dict[int, Record] = {}
        self.users: dict[int, Record] = {}
        self.devices: dict[str, Record] = {}
        self.tags: dict[int, Record] = {}
        self.device_tags: dict[int, Record] = {}
        self.user_tags: dict[int, Record] = {}
        self.group_tags: dict[int, Record] = {}
        self.apps: dict[int, Record] = {}
        self.commands: list[tuple[str, str, dict[str, Any]]] = []
        self._counters: dict[str, int] = {}
        # Indexes, so lookups stay fast on a 100,000-device fleet.
        self._devices_by_user: dict[int, set[str]] = {}
        self._devices_by_serial: dict[str, set[str]] = {}
        self._device_order: dict[str, int] = {}
        self._users_by_email: dict[str, set[int]] = {}

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

    def _index_email(self, user_id: int, old: str | None, new: str | None) -> None:
        if old is not None:
            bucket = self._users_by_email.get(old.strip().casefold())
            if bucket is not None:
                bucket.discard(user_id)
                if not bucket:
                    del self._users_by_email[old.strip().casefold()]
        if new is not None:
            self._users_by_email.setdefault(new.strip().casefold(), set()).add(user_id)

    def _add_device(self, device: Record) -> None:
        device_id = device["Id"]
        self.devices[device_id] = device
        self._device_order[device_id] = len(self._device_order)
        self._devices_by_serial.setdefault(device["SerialNumber"].casefold(), set()).add(device_id)
        if device["UserId"] is not None:
            self._devices_by_user.setdefault(device["UserId"], set()).add(device_id)
