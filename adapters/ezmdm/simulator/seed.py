"""The ezmdm simulator's seeded fleet, materialised lazily.

Seeding only draws ids, ownership and index entries; a record is generated (then cached)
the first time it is served or changed, so 100,000 devices seed in well under a second and
a page costs O(limit), never O(fleet).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from .state import DEVICE, LOCATION, USER, EzmdmState, Record

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
    """Seeds a fleet (:meth:`_seed_fleet`) and makes its records on first use (:meth:`_obj`)."""

    def _seed_fleet(self, devices: int) -> None:
        """Draw the fleet's shape now; the records themselves are made on first use."""
        rng = random.Random(f"ezmdm:fleet:{self.seed}")
        group_ids = [self._add_group(" / ".join(path)) for path in self._gen.group_tree()]
        user_count = max(1, int(devices * 0.8))
        user_ids: list[str] = []
        for person_index in range(user_count):
            group_id = group_ids[rng.randrange(len(group_ids))]
            user_id = self._register(USER)
            self._pending[user_id] = (person_index, group_id)
            self._users_by_group.setdefault(group_id, []).append(user_id)
            user_ids.append(user_id)
        for device_index in range(devices):
            owner = rng.randrange(user_count) if rng.random() < 0.9 else -1
            device_id = self._register(DEVICE)
            owner_id = user_ids[owner] if owner >= 0 else None
            self._pending[device_id] = (device_index, owner, owner_id)
            if owner_id is not None:
                self._devices_by_user.setdefault(owner_id, []).append(device_id)
            location_count = rng.randrange(4)
            if location_count:
                location_ids = [self._register(LOCATION) for _ in range(location_count)]
                self._locations_by_device[device_id] = location_ids
                for location_id in location_ids:
                    self._pending[location_id] = (device_id, device_index)

    def _obj(self, item_id: str) -> Record:
        """The live record for an id, generating a seeded one on first use."""
        record = self._objects.get(item_id)
        if record is not None:
            return record
        kind = self._meta[item_id][0]
        if kind == USER:
            person_index, group_id = self._pending.pop(item_id)
            person = self._gen.person(person_index)
            record = {
                "id": item_id,
                "groupId": group_id,
                "name": person.name,
                "email": person.email,
                "phone": person.phone,
            }
        elif kind == DEVICE:
            device_index, owner, owner_id = self._pending.pop(item_id)
            owner_person = self._gen.person(owner) if owner >= 0 else None
            handset = self._gen.handset(device_index, owner_person)
            record = {
                "id": item_id,
                "userId": owner_id,
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
        else:
            device_id, device_index = self._pending[item_id]
            self._make_locations(device_id, device_index)
            return self._objects[item_id]
        self._objects[item_id] = record
        return record

    def _make_locations(self, device_id: str, device_index: int) -> None:
        """All of one device's locations at once, oldest first, before its last check-in."""
        last_check_in = datetime.strptime(
            self._obj(device_id)["lastCheckIn"], _TIME_FORMAT
        ).replace(tzinfo=UTC)
        location_ids = self._locations_by_device[device_id]
        rng = random.Random(f"ezmdm:locations:{self.seed}:{device_index}")
        base_lat, base_lon = CITY_COORDS[rng.randrange(len(CITY_COORDS))]
        moment = last_check_in
        stamps: list[datetime] = []
        for _ in location_ids:
            moment -= timedelta(minutes=rng.randrange(5, 12 * 60), seconds=rng.randrange(60))
            stamps.append(moment)
        stamps.reverse()
        for location_id, stamp in zip(location_ids, stamps, strict=True):
            self._pending.pop(location_id, None)
            self._objects[location_id] = {
                "id": location_id,
                "deviceId": device_id,
                "latitude": round(base_lat + rng.uniform(-0.08, 0.08), 6),
                "longitude": round(base_lon + rng.uniform(-0.12, 0.12), 6),
                "accuracy": float(rng.choice((5, 8, 10, 12, 16, 25, 35, 65, 120))),
                "timestamp": _iso(stamp),
            }
