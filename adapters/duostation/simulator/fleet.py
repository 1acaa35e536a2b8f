"""The seeded DuoSTATION fleet as functions of an index, so no record exists before it is
served: the i-th user, the i-th device (its owner and group follow from i by arithmetic),
the k-th device tag and user tag.

The arithmetic reproduces the order the fleet was once built in, one record after another
(about 0.8 users per device; every device but each tenth linked to the next user, round
the users; device tags for every seventh device and for each eleventh from the second;
a user tag for every fifth user), so a seed gives byte for byte the records it always gave
and cassettes recorded from them stay valid.
"""

from __future__ import annotations

import collections
from datetime import UTC
from typing import Any

from mdmbridge.simulation.seed import FleetGenerator, Person

ACCOUNT_GROUP = "ad.example.se"

Record = dict[str, Any]


def _user_key(index: int) -> int:
    return index + 1  # users are the fleet's first records: ids 1..n


def _user_index(key: Any) -> int | None:
    return key - 1 if isinstance(key, int) and not isinstance(key, bool) else None


_link_key, _link_index = _user_key, _user_index  # link tables too start their ids at 1


class _Fleet:
    """``count`` devices of one seed; ``tag_ids`` (Kassa, BYOD, Fältpersonal) is set once
    the tags exist."""

    def __init__(
        self,
        gen: FleetGenerator,
        count: int,
        leaves: list[int],
        leaves_by_city: dict[str, list[int]],
    ) -> None:
        self.gen = gen
        self.devices = count
        self.users = max(1, int(count * 0.8))
        self.tag_ids = (0, 0, 0)
        self._leaves = leaves
        self._leaves_by_city = leaves_by_city
        self._people: collections.OrderedDict[int, Person] = collections.OrderedDict()
        self._guids: dict[str, int] | None = None

    def _person(self, index: int) -> Person:
        """A person, kept for a while: the device right after a user is usually theirs."""
        person = self._people.get(index)
        if person is None:
            person = self._people[index] = self.gen.person(index)
            if len(self._people) > 4096:
                self._people.popitem(last=False)
        return person

    # ------------------------------------------------------------------ users

    def user(self, index: int) -> Record:
        person = self._person(index)
        pool = self._leaves_by_city.get(person.office) or self._leaves
        return {
            "Id": index + 1,
            "Name": person.name,
            "Email": person.email,
            "PhoneNumber": person.phone,
            "AccountGroup": ACCOUNT_GROUP,
            "AccountName": person.account,
            "GroupId": pool[index % len(pool)],
            "Company": person.company,
            "Office": person.office,
            "Department": person.department,
            "Position": person.position,
        }

    # ------------------------------------------------------------------ devices

    def device_id(self, index: int) -> str:
        return self.gen.guid("device", index)

    def device_index(self, device_id: Any) -> int | None:
        """The index of a device GUID; the reverse map is built on the first lookup."""
        if self._guids is None:
            self._guids = {self.device_id(index): index for index in range(self.devices)}
        return self._guids.get(device_id) if isinstance(device_id, str) else None

    def owner(self, index: int) -> int | None:
        """The user index of device ``index``'s owner (None for every tenth device)."""
        if index % 10 == 9:
            return None
        linked = index - index // 10  # linked devices before this one
        return linked % self.users

    def device(self, index: int) -> Record:
        owner_index = self.owner(index)
        owner = self._person(owner_index) if owner_index is not None else None
        user = self.user(owner_index) if owner_index is not None else None
        handset = self.gen.handset(index, owner)
        leaves = self._leaves
        return {
            "Id": self.device_id(index),
            "Name": handset.name,
            "SerialNumber": handset.serial_number,
            "Model": handset.model,
            "Platform": handset.platform,
            "OsVersion": handset.os_version,
            "UserId": user["Id"] if user else None,
            "GroupId": user["GroupId"] if user else leaves[(index // 10) % len(leaves)],
            "AccountName": user["AccountName"] if user else None,
            "Udid": handset.udid,
            "Imei": handset.imei,
            "PhoneNumber": handset.phone_number,
            "BatteryLevel": handset.battery_level,
            "LastSeen": handset.last_seen.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    # ------------------------------------------------------------------ tag links

    @staticmethod
    def device_links_before(index: int) -> int:
        """Device tags of the devices before ``index``: Kassa on i % 7 == 0, BYOD on
        i % 11 == 1."""
        return (index + 6) // 7 + (index + 9) // 11

    def device_tag(self, link: int) -> Record:
        low, high = 0, self.devices - 1  # the last device whose links start at or before
        while low < high:
            middle = (low + high + 1) // 2
            if self.device_links_before(middle) <= link:
                low = middle
            else:
                high = middle - 1
        kassa, byod, _ = self.tag_ids
        tags = [tag for tag, hit in ((kassa, low % 7 == 0), (byod, low % 11 == 1)) if hit]
        return {
            "Id": link + 1,
            "DeviceId": self.device_id(low),
            "TagId": tags[link - self.device_links_before(low)],
            "SerialNumber": self.gen.handset(low).serial_number,
        }

    def user_tag(self, link: int) -> Record:
        return {"Id": link + 1, "UserId": 5 * link + 1, "TagId": self.tag_ids[2]}
