"""A realistic, deterministic DuoSTATION fleet: the shared generator's group tree, people and
handsets, in DuoSTATION's wire shape, plus a few tags, links and apps.

About 0.8 users per device, about 90% of devices linked to a user; top-level groups carry
lost-mode texts. The generator (``mdmbridge.simulation.seed``) is shared with the other
vendor simulators, so a seed means the same people and handsets in each.
"""

from __future__ import annotations

from datetime import UTC

from mdmbridge.simulation.seed import FleetGenerator, Person

from .state import DuoStationState, Record

ACCOUNT_GROUP = "ad.example.se"

# A 1x1 transparent PNG, for the seeded app that carries imageData.
_TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
    "AAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class FleetSeeding(DuoStationState):
    """Fills the tables with a generated fleet; called once, from the constructor."""

    def _seed(self, count: int, seed: int) -> None:
        """A realistic, deterministic fleet of ``count`` devices (see the module brief)."""
        gen = FleetGenerator(seed)
        with self.lock:
            by_path: dict[tuple[str, ...], int] = {}
            for path in gen.group_tree():
                group_id = self._next_id("groups")
                top = len(path) == 1
                by_path[path] = group_id
                self.groups[group_id] = {
                    "Id": group_id,
                    "Name": path[-1],
                    "ParentId": by_path[path[:-1]] if len(path) > 1 else 0,
                    "Number": f"{1000 + group_id}",
                    "Notes": f"Regionkontor {path[0]}" if top else None,
                    "LostModeMessage": (
                        f"Den här enheten tillhör kontoret i {path[0]}. Ring oss om du hittar den."
                        if top
                        else None
                    ),
                    "LostModePhoneNumber": "+46317096066" if top else None,
                    "LostModeFootNode": f"IT-support {path[0]}" if top else None,
                }
            leaves = [gid for path, gid in by_path.items() if len(path) == 3]
            leaves_by_city: dict[str, list[int]] = {}
            for path, gid in by_path.items():
                if len(path) == 3:
                    leaves_by_city.setdefault(path[0], []).append(gid)

            people: list[tuple[int, Person]] = []
            for index in range(max(1, int(count * 0.8))):
                person = gen.person(index)
                pool = leaves_by_city.get(person.office) or leaves
                user_id = self._next_id("users")
                self.users[user_id] = {
                    "Id": user_id,
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
                self._index_email(user_id, None, person.email)
                people.append((user_id, person))

            linked = 0
            device_ids: list[str] = []
            for index in range(count):
                owner: Person | None = None
                user: Record | None = None
                if index % 10 != 9:  # about 90% belong to someone
                    user_id, owner = people[linked % len(people)]
                    user = self.users[user_id]
                    linked += 1
                handset = gen.handset(index, owner)
                device_id = gen.guid("device", index)
                self._add_device(
                    {
                        "Id": device_id,
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
                        "LastSeen": handset.last_seen.astimezone(UTC).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                    }
                )
                device_ids.append(device_id)

            self._seed_tags(by_path, device_ids, [uid for uid, _ in people])
            self._seed_apps()

    def _seed_tags(
        self, by_path: dict[tuple[str, ...], int], device_ids: list[str], user_ids: list[int]
    ) -> None:
        logistics_groups = [gid for path, gid in by_path.items() if path[-1] == "Lager & Logistik"]
        specs = (
            ("Kassa", "Kassaenheter i butik", None),
            ("Fältpersonal", "Personal som arbetar ute hos kunder", None),
            ("BYOD", "Privatägda enheter (bring your own device)", None),
            (
                "Lager & Logistik",
                "Handdatorer och skannrar på lagret",
                logistics_groups[0] if logistics_groups else None,
            ),
        )
        tag_ids: dict[str, int] = {}
        for name, description, group_id in specs:
            tag_id = self._next_id("tags")
            tag_ids[name] = tag_id
            self.tags[tag_id] = {
                "Id": tag_id,
                "Name": name,
                "Description": description,
                "GroupId": group_id,
            }
        for index, device_id in enumerate(device_ids):
            for name, hit in (("Kassa", index % 7 == 0), ("BYOD", index % 11 == 1)):
                if hit:
                    link_id = self._next_id("devicetags")
                    self.device_tags[link_id] = {
                        "Id": link_id,
                        "DeviceId": device_id,
                        "TagId": tag_ids[name],
                        "SerialNumber": self.devices[device_id]["SerialNumber"],
                    }
        for index, user_id in enumerate(user_ids):
            if index % 5 == 0:
                link_id = self._next_id("usertags")
                self.user_tags[link_id] = {
                    "Id": link_id,
                    "UserId": user_id,
                    "TagId": tag_ids["Fältpersonal"],
                }
        for group_id in [*logistics_groups, 0]:
            link_id = self._next_id("grouptags")
            tag = tag_ids["Lager & Logistik"] if group_id else tag_ids["BYOD"]
            self.group_tags[link_id] = {"Id": link_id, "GroupId": group_id, "TagId": tag}

    def _seed_apps(self) -> None:
        apps: list[Record] = [
            {
                "Name": "Microsoft Teams",
                "Description": "Chatt, möten och samtal",
                "Company": "Microsoft Corporation",
                "PackageId": "com.microsoft.skype.teams",
                "VersionText": "6.21.1",
                "VersionNumber": None,
                "Platform": 0,
                "Size": 265_420_800,
                "Store": 0,
                "StoreId": "1113153706",
                "ImageUrl": "https://apps.example.se/icons/teams.png",
                "ImageData": None,
            },
            {
                "Name": "Microsoft Teams",
                "Description": "Chatt, möten och samtal",
                "Company": "Microsoft Corporation",
                "PackageId": "com.microsoft.teams",
                "VersionText": "1416/1.0.0.2024143204",
                "VersionNumber": 2024143204,
                "Platform": 1,
                "Size": 171_966_464,
                "Store": 1,
                "StoreId": "com.microsoft.teams",
                "ImageUrl": "https://apps.example.se/icons/teams.png",
                "ImageData": None,
            },
            {
                "Name": "Kassasystem Öresund",
                "Description": "Kassaprogram för butikerna",
                "Company": "Öresund Data",
                "PackageId": "se.oresunddata.kassa",
                "VersionText": "2.4.1",
                "VersionNumber": 241,
                "Platform": 2,
                "Size": 48_234_496,
                "Store": 2,
                "StoreId": "https://apps.example.se/macos/kassa-2.4.1.pkg",
                "ImageUrl": None,
                "ImageData": _TINY_PNG,
            },
        ]
        for fields in apps:
            app_id = self._next_id("apps")
            self.apps[app_id] = {"Id": app_id, **fields}
