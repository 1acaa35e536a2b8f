"""A realistic, deterministic DuoSTATION fleet: the shared generator's group tree, people and
handsets, in DuoSTATION's wire shape, plus a few tags, links and apps. The groups, tags,
group tags and apps are built here; users, devices and their tag links are tables made on
demand from ``fleet.py`` (a million devices seed instantly and serve with flat memory).

About 0.8 users per device, about 90% of devices linked to a user; top-level groups carry
lost-mode texts. The generator (``mdmbridge.simulation.seed``) is shared with the other
vendor simulators, so a seed means the same people and handsets in each.
"""

from __future__ import annotations

from mdmbridge.simulation.seed import FleetGenerator

from .fleet import ACCOUNT_GROUP, _Fleet, _link_index, _link_key, _user_index, _user_key
from .state import DuoStationState, Record
from .table import SeededTable

__all__ = ["ACCOUNT_GROUP", "FleetSeeding"]

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
            fleet = _Fleet(gen, count, leaves, leaves_by_city)
            self.users = SeededTable(
                fleet.users, _user_key, fleet.user, _user_index, self._chunks, self.lock
            )
            self._counters["users"] = fleet.users
            self.devices = SeededTable(
                count, fleet.device_id, fleet.device, fleet.device_index, self._chunks, self.lock
            )
            self._seed_tags(by_path, fleet)
            self._seed_apps()

    def _seed_tags(self, by_path: dict[tuple[str, ...], int], fleet: _Fleet) -> None:
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
        fleet.tag_ids = (tag_ids["Kassa"], tag_ids["BYOD"], tag_ids["Fältpersonal"])
        links = fleet.device_links_before(fleet.devices)
        self.device_tags = SeededTable(
            links, _link_key, fleet.device_tag, _link_index, self._chunks, self.lock
        )
        self._counters["devicetags"] = links
        links = (fleet.users + 4) // 5  # every fifth user, from the first
        self.user_tags = SeededTable(
            links, _link_key, fleet.user_tag, _link_index, self._chunks, self.lock
        )
        self._counters["usertags"] = links
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
