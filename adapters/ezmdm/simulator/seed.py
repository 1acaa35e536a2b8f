"""The ezmdm simulator's seeded fleet, made on demand from (seed, position).

The fleet is what this sequential recipe gives (kept exactly, so cassettes recorded from it
stay valid): the group tree's ids first, then every user's id, then for each device its id
followed by its 0-3 locations' ids, all drawn from one id stream; one fleet stream draws
each user's group, then each device's owner and number of locations. Nothing is drawn up
front: both streams are :class:`~mdmbridge.simulation.lazy.Replay` objects, so seeding a
million devices costs nothing, a page costs O(limit), and a record is made each time it is
served (or once, when it is changed). A by-id lookup of an id no listing has shown, and the
owner indexes (child listings, moves), build a reverse index of the whole fleet on first
use: instant for the fleets tests use, seconds and hundreds of MB at a million devices.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from mdmbridge.simulation.lazy import Replay

from .state import DEVICE, LOCATION, USER, EzmdmState, Index, Record, SeededOrder, Where

# Approximate centres of the seed generator's cities (all inside lat 55-66, lon 11-24).
CITY_COORDS: tuple[tuple[float, float], ...] = (
    (57.7089, 11.9746),  # Göteborg
    (55.6050, 13.0038),  # Malmö
    (59.3293, 18.0686),  # Stockholm
    (59.6099, 16.5448),  # Västerås
    (59.2753, 15.2134),  # Örebro
    (58.4108, 15.6214),  # Linköping
    (63.8258, 20.2630),  # Umeå
    (65.5848, 22.1547),  # Luleå
)

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


class LazyFleet(EzmdmState):
    """Seeds a fleet (:meth:`_seed_fleet`) and answers the seeded-base hooks of the state."""

    _users = 0
    _user_base = 0  # the id stream's place of the first user (after the group tree)
    _devices = 0
    _groups: tuple[str, ...] = ()
    _fleet: Replay[tuple[int, int]] | None = None
    _reverse: dict[str, Where] | None = None

    def _seed_fleet(self, devices: int) -> None:
        """Register the group tree now; everything else is drawn when first needed."""
        self._groups = tuple(self._add_group(" / ".join(path)) for path in self._gen.group_tree())
        users = self._users = max(1, int(devices * 0.8))
        self._devices = devices
        group_count = len(self._groups)

        def draw(rng: random.Random, n: int) -> tuple[int, int]:
            if n < users:
                return rng.randrange(group_count), 0  # (group index, no locations)
            owner = rng.randrange(users) if rng.random() < 0.9 else -1
            return owner, rng.randrange(4)  # (owner index or -1, locations)

        self._fleet = fleet = Replay(f"ezmdm:fleet:{self.seed}", draw, weight=lambda v: v[1])
        first = self._position or 0  # the id stream's place after the groups
        self._position = None
        self._next_position = lambda: first + users + devices + fleet.offset(users + devices)
        self._user_base = first
        self._order[USER] = SeededOrder(USER, lambda: users, self._user_id, self._recent)
        self._order[DEVICE] = SeededOrder(DEVICE, lambda: devices, self._device_id, self._recent)
        self._order[LOCATION] = SeededOrder(
            LOCATION, lambda: fleet.offset(users + devices), self._location_id, self._recent
        )

    # ------------------------------------------------------------------ stream places

    def _device_place(self, index: int) -> int:
        """Where device ``index``'s id sits in the id stream (its locations follow it)."""
        assert self._fleet is not None
        return self._user_base + self._users + index + self._fleet.offset(self._users + index)

    def _user_id(self, index: int) -> str:
        return self._ids[self._user_base + index]

    def _device_id(self, index: int) -> str:
        return self._ids[self._device_place(index)]

    def _device_of_location(self, position: int) -> tuple[int, int]:
        """(device index, its location number) of the ``position``-th seeded location."""
        assert self._fleet is not None
        low, high = 0, self._devices - 1
        while low < high:  # the last device whose first location is at or before position
            middle = (low + high + 1) // 2
            if self._fleet.offset(self._users + middle) <= position:
                low = middle
            else:
                high = middle - 1
        return low, position - self._fleet.offset(self._users + low)

    def _location_id(self, position: int) -> str:
        device, number = self._device_of_location(position)
        return self._ids[self._device_place(device) + 1 + number]

    # ------------------------------------------------------------------ the state's hooks

    def _seeded_where(self, item_id: str) -> Where | None:
        if self._fleet is None:
            return None
        if self._reverse is None:
            reverse: dict[str, Where] = {}
            for index in range(self._users):
                reverse[self._user_id(index)] = (USER, index)
            location = 0
            for index in range(self._devices):
                place = self._device_place(index)
                reverse[self._ids[place]] = (DEVICE, index)
                for number in range(self._fleet[self._users + index][1]):
                    reverse[self._ids[place + 1 + number]] = (LOCATION, location)
                    location += 1
            self._reverse = reverse
        return self._reverse.get(item_id)

    def _seeded_indexes(self) -> tuple[Index, Index, Index]:
        users_by_group: Index = {}
        devices_by_user: Index = {}
        locations_by_device: Index = {}
        fleet = self._fleet
        if fleet is None:
            return users_by_group, devices_by_user, locations_by_device
        for index in range(self._users):
            group_id = self._groups[fleet[index][0]]
            users_by_group.setdefault(group_id, []).append(self._user_id(index))
        for index in range(self._devices):
            owner, locations = fleet[self._users + index]
            place = self._device_place(index)
            device_id = self._ids[place]
            if owner >= 0:
                devices_by_user.setdefault(self._user_id(owner), []).append(device_id)
            if locations:
                locations_by_device[device_id] = [
                    self._ids[place + 1 + n] for n in range(locations)
                ]
        return users_by_group, devices_by_user, locations_by_device

    def _seeded_record(self, kind: str, position: int) -> Record:
        assert self._fleet is not None
        if kind == USER:
            person = self._gen.person(position)
            return {
                "id": self._user_id(position),
                "groupId": self._groups[self._fleet[position][0]],
                "name": person.name,
                "email": person.email,
                "phone": person.phone,
            }
        if kind == DEVICE:
            return self._device_record(position)
        device, number = self._device_of_location(position)
        return self._locations(device)[number]

    def _device_record(self, index: int) -> Record:
        owner = self._fleet[self._users + index][0] if self._fleet is not None else -1
        owner_person = self._gen.person(owner) if owner >= 0 else None
        handset = self._gen.handset(index, owner_person)
        return {
            "id": self._device_id(index),
            "userId": self._user_id(owner) if owner >= 0 else None,
            "name": handset.name,
            "serialNumber": handset.serial_number,
            "udid": handset.udid,
            "imei": handset.imei,
            "model": handset.model,
            "os": handset.platform,
            "osVersion": handset.os_version,
            "phoneNumber": handset.phone_number,
            "batteryLevel": handset.battery_level,
            "lastCheckIn": _iso(handset.last_seen),
        }

    def _locations(self, index: int) -> list[Record]:
        """All of one device's locations, oldest first, before its last check-in."""
        assert self._fleet is not None
        place = self._device_place(index)
        device_id = self._ids[place]
        device = self._objects.get(device_id) or self._device_record(index)
        last_check_in = datetime.strptime(device["lastCheckIn"], _TIME_FORMAT).replace(tzinfo=UTC)
        count = self._fleet[self._users + index][1]
        rng = random.Random(f"ezmdm:locations:{self.seed}:{index}")
        base_lat, base_lon = CITY_COORDS[rng.randrange(len(CITY_COORDS))]
        moment = last_check_in
        stamps: list[datetime] = []
        for _ in range(count):
            moment -= timedelta(minutes=rng.randrange(5, 12 * 60), seconds=rng.randrange(60))
            stamps.append(moment)
        stamps.reverse()
        return [
            {
                "id": self._ids[place + 1 + number],
                "deviceId": device_id,
                "latitude": round(base_lat + rng.uniform(-0.08, 0.08), 6),
                "longitude": round(base_lon + rng.uniform(-0.12, 0.12), 6),
                "accuracy": float(rng.choice((5, 8, 10, 12, 16, 25, 35, 65, 120))),
                "timestamp": _iso(stamp),
            }
            for number, stamp in enumerate(stamps)
        ]
