"""The DuoSTATION adapter through the public API, over real HTTP against the simulator.

Every endpoint of the vendor table, the core models it returns, read-modify-write updates,
the vendor's refusals, every local validation (proved by zero requests at the simulator),
unknown and missing fields, authentication and non-ASCII round trips.

Most tests share one module-wide simulator and only create, change and delete records of
their own; tests that change seeded records get a fresh simulator from ``duo_sim``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import traceback
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import pydantic
import pytest
from mdmbridge_duostation.simulator import DuoStationSimulator, start_simulator

import mdmbridge
from mdmbridge import (
    App,
    AppStore,
    AuthError,
    Command,
    CommandKind,
    CommandReceipt,
    Conflict,
    Device,
    Group,
    NotFound,
    Platform,
    Tag,
    TagLink,
    TagTarget,
    UnsupportedOperation,
    User,
    ValidationError,
)
from mdmbridge.simulation import SimServer
from tests.conftest import connect_duo
from tests.support import DUO_PASSWORD, DUO_USER, raises

TENANT = "duo-test"
PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 13).decode()
SPECIAL = 'Åsa Öberg & Co = "100%"'
NOTES = "rad 1: Göteborg\nrad 2: Malmö & Luleå\n\ttabb = 100%"
MISSING_GUID = "00000000-0000-4000-8000-000000000000"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    """One simulator shared by the module; tests only touch records they create."""
    sim = start_simulator(devices=40, username=DUO_USER, password=DUO_PASSWORD)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def sim(server: SimServer) -> DuoStationSimulator:
    return cast(DuoStationSimulator, server.app)


@pytest.fixture(scope="module")
def mdm(server: SimServer) -> Iterator[mdmbridge.Client]:
    client = connect_duo(server)
    yield client
    client.close()


@pytest.fixture
def fresh(duo_sim: Callable[..., SimServer]) -> Iterator[tuple[SimServer, mdmbridge.Client]]:
    """A simulator of its own, for tests that change seeded records."""
    server = duo_sim(devices=40)
    client = connect_duo(server)
    yield server, client
    client.close()


@contextlib.contextmanager
def no_requests(server: SimServer) -> Iterator[None]:
    """The block must not send a single request."""
    server.reset_counts()
    yield
    assert server.count() == 0, f"requests reached the simulator: {list(server.log)}"


@contextlib.contextmanager
def no_writes(server: SimServer) -> Iterator[None]:
    server.reset_counts()
    yield
    assert server.writes() == 0, f"writes reached the simulator: {list(server.log)}"


def state(sim: DuoStationSimulator) -> dict[str, Any]:
    """A deep copy of every public state table, to prove a refusal changed nothing."""
    with sim.lock:
        return copy.deepcopy(
            {
                "groups": sim.groups,
                "users": sim.users,
                "devices": sim.devices,
                "tags": sim.tags,
                "device_tags": sim.device_tags,
                "user_tags": sim.user_tags,
                "group_tags": sim.group_tags,
                "apps": sim.apps,
                "commands": sim.commands,
            }
        )


def group_payload(sim: DuoStationSimulator, group_id: int) -> dict[str, Any]:
    """What GET /api/groups/<id> answers: the stored record plus the derived Path."""
    return {**sim.groups[group_id], "Path": sim.group_path(group_id)}


def user_tag_payload(sim: DuoStationSimulator, link_id: int) -> dict[str, Any]:
    link = sim.user_tags[link_id]
    return {**link, "UserName": sim.users[link["UserId"]]["Name"]}


def leaf_group_with_users(sim: DuoStationSimulator) -> int:
    parents = {g["ParentId"] for g in sim.groups.values()}
    for user in sim.users.values():
        if user["GroupId"] and user["GroupId"] not in parents:
            return int(user["GroupId"])
    raise AssertionError("the seeded fleet has no leaf group with users")


def user_with_devices(sim: DuoStationSimulator) -> int:
    for device in sim.devices.values():
        if device["UserId"] is not None:
            return int(device["UserId"])
    raise AssertionError("no user with devices")


def a_device(sim: DuoStationSimulator) -> str:
    return next(iter(sim.devices))


def app_args(**overrides: Any) -> dict[str, Any]:
    """A valid Play-store app; override fields to break one rule at a time."""
    args: dict[str, Any] = {
        "name": "Lagerskanner",
        "company": "Öresund Data",
        "package_id": "se.oresund.skanner",
        "version_text": "1.0",
        "platform": "android",
        "size": 1024,
        "store": "play",
        "store_id": "se.oresund.skanner",
        "image_url": "https://apps.example.se/icons/skanner.png",
    }
    args.update(overrides)
    return {k: v for k, v in args.items() if v is not None}


def check_record(record: mdmbridge.Record, model: type[mdmbridge.Record]) -> None:
    assert isinstance(record, model)
    assert record.tenant == TENANT
    assert record.vendor == "duostation"
    assert isinstance(record.id, str) and record.id


# --------------------------------------------------------------------------- models


class TestReturnedModels:
    def test_group_is_a_core_model_with_the_vendor_payload_in_raw(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        group = mdm.groups.get("3")
        check_record(group, Group)
        assert group.id == "3"
        assert group.raw == group_payload(sim, 3)
        assert "Id" in group.raw and "ParentId" in group.raw  # PascalCase, as sent
        stored = sim.groups[3]
        assert group.name == stored["Name"]
        assert group.parent_id == str(stored["ParentId"])
        assert group.number == stored["Number"]
        assert group.path == sim.group_path(3).replace("\\", "/")

    def test_root_level_group_has_no_parent_and_its_lost_mode(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        group = mdm.groups.get(1)  # an int id works as well as a string
        stored = sim.groups[1]
        assert stored["ParentId"] == 0
        assert group.parent_id is None
        assert group.path == stored["Name"] == "Göteborg"
        assert group.lost_mode_message == stored["LostModeMessage"]
        assert group.lost_mode_phone_number == stored["LostModePhoneNumber"]
        assert group.lost_mode_footnote == stored["LostModeFootNode"]

    def test_devices_carry_guid_ids_and_normalised_fields(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        devices = list(mdm.devices.list())
        assert len(devices) == len(sim.devices) == 40
        for device in devices:
            check_record(device, Device)
            assert len(device.id) == 36 and str(uuid.UUID(device.id)) == device.id
            assert device.raw == sim.devices[device.id]
        owned = next(d for d in devices if d.raw["UserId"] is not None)
        assert owned.user_id == str(owned.raw["UserId"])
        assert owned.group_id == str(owned.raw["GroupId"])
        assert owned.serial_number == owned.raw["SerialNumber"]
        assert owned.platform in {Platform.IOS, Platform.ANDROID}
        assert owned.platform.value == owned.raw["Platform"].lower()
        assert owned.last_seen is not None and owned.last_seen.utcoffset() is not None
        assert owned.battery_level == owned.raw["BatteryLevel"]
        unowned = next(d for d in devices if d.raw["UserId"] is None)
        assert unowned.user_id is None and unowned.group_id is not None

    def test_user_tag_and_app_models(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        user = mdm.users.get("1")
        check_record(user, User)
        assert user.raw == sim.users[1]
        assert user.phone == sim.users[1]["PhoneNumber"]
        assert user.account == sim.users[1]["AccountName"]
        assert user.account_group == sim.users[1]["AccountGroup"]
        assert user.group_id == str(sim.users[1]["GroupId"])
        tag = mdm.tags.get("4")
        check_record(tag, Tag)
        assert tag.raw == sim.tags[4]
        assert tag.group_id == str(sim.tags[4]["GroupId"])
        app = mdm.apps.get("1")
        check_record(app, App)
        assert app.raw == sim.apps[1]
        assert (app.platform, app.store) == (Platform.IOS, AppStore.APP_STORE)


# --------------------------------------------------------------------------- groups


class TestGroups:
    def test_list_returns_every_group_with_paths(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        groups = list(mdm.groups.list())
        assert {g.id for g in groups} == {str(i) for i in sim.groups}
        for group in groups:
            check_record(group, Group)
            assert group.raw == group_payload(sim, int(group.id))
            assert group.path == sim.group_path(int(group.id)).replace("\\", "/")

    def test_get_unknown_group_is_not_found(self, mdm: mdmbridge.Client) -> None:
        with raises(NotFound):
            mdm.groups.get("999999")

    def test_list_by_number(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        number = sim.groups[3]["Number"]
        found = list(mdm.groups.list(number=number))
        assert [g.id for g in found] == ["3"]
        assert found[0].number == number
        assert list(mdm.groups.list(number="no-such-number")) == []

    def test_list_by_path_with_slash(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        path = sim.group_path(3)  # Göteborg\<department>\<team>
        assert path.startswith("Göteborg\\") and path.count("\\") == 2
        found = list(mdm.groups.list(path=path.replace("\\", "/")))
        assert [g.id for g in found] == ["3"]
        assert found[0].path == path.replace("\\", "/")
        assert found[0].raw == group_payload(sim, 3)

    def test_list_by_path_with_backslash(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        found = list(mdm.groups.list(path=sim.group_path(3)))
        assert [g.id for g in found] == ["3"]

    def test_list_by_non_ascii_path(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        department = sim.groups[2]["Name"]
        assert sim.groups[2]["ParentId"] == 1
        found = list(mdm.groups.list(path=f"Göteborg/{department}"))
        assert [g.id for g in found] == ["2"]
        assert [g.id for g in mdm.groups.list(path="Göteborg")] == ["1"]

    def test_path_and_number_combine(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        path = sim.group_path(3)
        assert [g.id for g in mdm.groups.list(path=path, number=sim.groups[3]["Number"])] == ["3"]
        assert list(mdm.groups.list(path=path, number="no-such-number")) == []

    def test_path_without_match_is_an_empty_list(self, mdm: mdmbridge.Client) -> None:
        assert list(mdm.groups.list(path="Göteborg/Ingen sådan grupp")) == []
        assert list(mdm.groups.list(path="Haparanda")) == []

    def test_ambiguous_path_is_a_conflict(
        self, mdm: mdmbridge.Client, server: SimServer, sim: DuoStationSimulator
    ) -> None:
        first = mdm.groups.create(name="Dubbelgrupp", parent_id="1")
        second = mdm.groups.create(name="Dubbelgrupp", parent_id="1")
        assert first.id != second.id  # the vendor allows duplicated names
        with raises(Conflict):
            list(mdm.groups.list(path="Göteborg/Dubbelgrupp"))
        with raises(Conflict):
            list(mdm.groups.list(path="Göteborg\\Dubbelgrupp"))
        # the same name under another parent is a different path
        other = mdm.groups.create(name="Dubbelgrupp", parent_id="2")
        parent_path = sim.group_path(2).replace("\\", "/")
        assert [g.id for g in mdm.groups.list(path=f"{parent_path}/Dubbelgrupp")] == [other.id]

    def test_create_at_root(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        group = mdm.groups.create(name="Kiruna", number="4711", notes="Norrbotten")
        check_record(group, Group)
        new_id = max(sim.groups)
        assert group.id == str(new_id)
        stored = sim.groups[new_id]
        assert stored["Name"] == "Kiruna" and stored["ParentId"] == 0
        assert (stored["Number"], stored["Notes"]) == ("4711", "Norrbotten")
        assert stored["LostModeMessage"] is None
        assert group.parent_id is None and group.path == "Kiruna"
        assert group.raw == group_payload(sim, new_id)

    def test_create_with_parent_zero_is_root(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        group = mdm.groups.create(name="Rotgrupp noll", parent_id="0")
        assert sim.groups[int(group.id)]["ParentId"] == 0
        assert group.parent_id is None

    def test_create_with_parent_and_lost_mode(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        group = mdm.groups.create(
            name="Hamnen",
            parent_id=1,
            number="88",
            lost_mode_message="Hittad? Ring oss.",
            lost_mode_phone_number="+46 31 123 45",
            lost_mode_footnote="IT Hamnen",
        )
        stored = sim.groups[int(group.id)]
        assert stored["ParentId"] == 1
        assert stored["LostModeMessage"] == "Hittad? Ring oss."
        assert stored["LostModePhoneNumber"] == "+46 31 123 45"
        assert stored["LostModeFootNode"] == "IT Hamnen"
        assert group.parent_id == "1"
        assert group.path == "Göteborg/Hamnen"
        assert group.lost_mode_footnote == "IT Hamnen"

    def test_create_under_unknown_parent_is_not_found(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        before = len(sim.groups)
        with raises(NotFound):
            mdm.groups.create(name="Föräldralös", parent_id="99999")
        assert len(sim.groups) == before

    def test_update_changes_only_the_given_fields(
        self, mdm: mdmbridge.Client, server: SimServer, sim: DuoStationSimulator
    ) -> None:
        group = mdm.groups.create(
            name="Före",
            parent_id="1",
            number="100",
            notes="gamla anteckningar",
            lost_mode_message="m",
            lost_mode_phone_number="p",
            lost_mode_footnote="f",
        )
        gid = int(group.id)
        before = dict(sim.groups[gid])
        updated = mdm.groups.update(group.id, name="Efter")
        assert updated.name == "Efter"
        after = sim.groups[gid]
        assert after == {**before, "Name": "Efter"}
        assert updated.raw == group_payload(sim, gid)
        updated = mdm.groups.update(gid, notes=None, number="200")
        assert (updated.notes, updated.number) == (None, "200")
        assert sim.groups[gid] == {**before, "Name": "Efter", "Notes": None, "Number": "200"}

    def test_lost_mode_is_checked_on_the_merged_result(
        self, mdm: mdmbridge.Client, server: SimServer, sim: DuoStationSimulator
    ) -> None:
        full = mdm.groups.create(
            name="Med lost mode",
            lost_mode_message="m",
            lost_mode_phone_number="p",
            lost_mode_footnote="f",
        )
        empty = mdm.groups.create(name="Utan lost mode")
        snapshot = state(sim)
        with no_writes(server), raises(ValidationError, match="lost"):
            mdm.groups.update(full.id, lost_mode_message=None)
        with no_writes(server), raises(ValidationError, match="lost"):
            mdm.groups.update(empty.id, lost_mode_footnote="bara fotnot")
        assert state(sim) == snapshot
        # one field changed while the stored two are kept: complete, accepted
        updated = mdm.groups.update(full.id, lost_mode_message="Ny text")
        assert (updated.lost_mode_message, updated.lost_mode_phone_number) == ("Ny text", "p")
        assert sim.groups[int(full.id)]["LostModeFootNode"] == "f"
        # all three together, either way
        cleared = mdm.groups.update(
            full.id, lost_mode_message=None, lost_mode_phone_number=None, lost_mode_footnote=None
        )
        assert cleared.lost_mode_message is None and cleared.lost_mode_footnote is None
        filled = mdm.groups.update(
            empty.id, lost_mode_message="a", lost_mode_phone_number="b", lost_mode_footnote="c"
        )
        assert sim.groups[int(empty.id)]["LostModeFootNode"] == "c"
        assert filled.lost_mode_footnote == "c"

    def test_delete(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        group = mdm.groups.create(name="Tillfällig")
        assert int(group.id) in sim.groups
        assert mdm.groups.delete(group.id) is None
        assert int(group.id) not in sim.groups
        with raises(NotFound):
            mdm.groups.get(group.id)


# --------------------------------------------------------------------------- users


class TestUsers:
    def test_list_and_get(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        users = list(mdm.users.list())
        assert {u.id for u in users} == {str(i) for i in sim.users}
        for user in users:
            check_record(user, User)
            assert user.raw == sim.users[int(user.id)]
        one = mdm.users.get(5)
        assert one.raw == sim.users[5] and one.email == sim.users[5]["Email"]
        with raises(NotFound):
            mdm.users.get("999999")

    def _only(self, sim: DuoStationSimulator, **match: Any) -> set[str]:
        return {
            str(uid)
            for uid, user in sim.users.items()
            if all(user[key] == value for key, value in match.items())
        }

    def test_filter_by_email(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        email = sim.users[7]["Email"]
        assert [u.id for u in mdm.users.list(email=email)] == ["7"]
        assert [u.id for u in mdm.users.list(email=email.upper())] == ["7"]
        assert list(mdm.users.list(email="ingen@example.se")) == []

    def test_filter_by_phone_with_plus_sign(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        phone = sim.users[3]["PhoneNumber"]
        assert phone.startswith("+")  # "+" must be encoded, or it arrives as a space
        assert {u.id for u in mdm.users.list(phone=phone)} == self._only(sim, PhoneNumber=phone)
        assert "3" in self._only(sim, PhoneNumber=phone)

    def test_filter_by_account(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        account = sim.users[4]["AccountName"]
        assert [u.id for u in mdm.users.list(account=account)] == ["4"]

    def test_filter_by_group(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        group_id = sim.users[1]["GroupId"]
        expected = self._only(sim, GroupId=group_id)
        assert 0 < len(expected) < len(sim.users)
        assert {u.id for u in mdm.users.list(group_id=str(group_id))} == expected

    def test_filter_by_tag(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        expected = {str(t["UserId"]) for t in sim.user_tags.values() if t["TagId"] == 2}
        assert 0 < len(expected) < len(sim.users)
        assert {u.id for u in mdm.users.list(tag_id="2")} == expected
        assert list(mdm.users.list(tag_id="1")) == []  # Kassa is on devices only

    def test_filters_combine(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        user = sim.users[1]
        both = mdm.users.list(email=user["Email"], group_id=user["GroupId"], tag_id=2)
        assert [u.id for u in both] == ["1"]
        other_group = next(g for g in sim.groups if g != user["GroupId"])
        assert list(mdm.users.list(email=user["Email"], group_id=other_group)) == []
        assert list(mdm.users.list(account=user["AccountName"], phone="+4600000")) == []
        tagged_in_group = {u.id for u in mdm.users.list(group_id=user["GroupId"], tag_id="2")}
        expected = self._only(sim, GroupId=user["GroupId"]) & {
            str(t["UserId"]) for t in sim.user_tags.values() if t["TagId"] == 2
        }
        assert tagged_in_group == expected

    def test_create_with_every_field(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        user = mdm.users.create(
            name="Måns Ågren",
            email="mans.agren@example.se",
            phone="+46701234567",
            account="mans.agren",
            account_group="ad.example.se",
            group_id="3",
            company="Ångström AB",
            office="Göteborg",
            department="IT",
            position="Tekniker",
        )
        check_record(user, User)
        new_id = max(sim.users)
        assert user.id == str(new_id)
        assert sim.users[new_id] == {
            "Id": new_id,
            "Name": "Måns Ågren",
            "Email": "mans.agren@example.se",
            "PhoneNumber": "+46701234567",
            "AccountGroup": "ad.example.se",
            "AccountName": "mans.agren",
            "GroupId": 3,
            "Company": "Ångström AB",
            "Office": "Göteborg",
            "Department": "IT",
            "Position": "Tekniker",
        }
        assert user.raw == sim.users[new_id]
        assert (user.account, user.account_group, user.group_id) == (
            "mans.agren",
            "ad.example.se",
            "3",
        )

    def test_create_with_name_only(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        user = mdm.users.create(name="Bara Namn")
        assert user.email is None and user.group_id is None and user.account is None
        assert sim.users[int(user.id)]["GroupId"] is None

    def test_update_changes_only_the_given_fields(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        user = mdm.users.create(
            name="Stina Berg",
            email="stina@example.se",
            account="stina.berg",
            account_group="ad.example.se",
            group_id="3",
            company="Öresund Data",
            office="Malmö",
        )
        uid = int(user.id)
        before = dict(sim.users[uid])
        updated = mdm.users.update(user.id, phone="+46709999999", department="Lager & Logistik")
        assert sim.users[uid] == {
            **before,
            "PhoneNumber": "+46709999999",
            "Department": "Lager & Logistik",
        }
        assert updated.raw == sim.users[uid]
        assert updated.account == "stina.berg" and updated.company == "Öresund Data"
        cleared = mdm.users.update(uid, office=None)
        assert cleared.office is None and sim.users[uid]["Office"] is None
        assert sim.users[uid]["Email"] == "stina@example.se"

    def test_changing_the_group_moves_the_devices(
        self, fresh: tuple[SimServer, mdmbridge.Client]
    ) -> None:
        server, mdm = fresh
        sim = cast(DuoStationSimulator, server.app)
        uid = user_with_devices(sim)
        new_group = next(
            g for g in sim.groups if g != sim.users[uid]["GroupId"] and sim.groups[g]["ParentId"]
        )
        devices = [d for d, rec in sim.devices.items() if rec["UserId"] == uid]
        updated = mdm.users.update(str(uid), group_id=str(new_group))
        assert updated.group_id == str(new_group)
        assert {sim.devices[d]["GroupId"] for d in devices} == {new_group}
        assert {d.group_id for d in mdm.devices.list(user_id=uid)} == {str(new_group)}

    def test_delete(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        user = mdm.users.create(name="Tillfällig Användare")
        assert mdm.users.delete(user.id) is None
        assert int(user.id) not in sim.users
        with raises(NotFound):
            mdm.users.get(user.id)


# --------------------------------------------------------------------------- devices


class TestDevices:
    def test_get(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        device_id = a_device(sim)
        device = mdm.devices.get(device_id)
        check_record(device, Device)
        assert device.id == device_id and device.raw == sim.devices[device_id]
        # any GUID form is accepted and answered in the canonical form
        assert mdm.devices.get("{" + device_id.upper() + "}").id == device_id
        with raises(NotFound):
            mdm.devices.get(MISSING_GUID)

    def _ids(self, sim: DuoStationSimulator, keep: Callable[[dict[str, Any]], bool]) -> set[str]:
        return {d for d, rec in sim.devices.items() if keep(rec)}

    def test_filter_by_serial_number(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        device_id = a_device(sim)
        serial = sim.devices[device_id]["SerialNumber"]
        assert [d.id for d in mdm.devices.list(serial_number=serial)] == [device_id]
        assert list(mdm.devices.list(serial_number="NOSUCHSERIAL")) == []

    def test_filter_by_group(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        group_id = sim.devices[a_device(sim)]["GroupId"]
        expected = self._ids(sim, lambda r: r["GroupId"] == group_id)
        assert 0 < len(expected) < len(sim.devices)
        assert {d.id for d in mdm.devices.list(group_id=str(group_id))} == expected

    def test_filter_by_user(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        uid = user_with_devices(sim)
        expected = self._ids(sim, lambda r: r["UserId"] == uid)
        assert {d.id for d in mdm.devices.list(user_id=uid)} == expected
        assert {d.user_id for d in mdm.devices.list(user_id=uid)} == {str(uid)}

    def test_filter_by_account(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        uid = user_with_devices(sim)
        account = sim.users[uid]["AccountName"]
        expected = self._ids(sim, lambda r: r["AccountName"] == account)
        assert expected
        assert {d.id for d in mdm.devices.list(account=account)} == expected

    def test_filter_by_tag(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        expected = {t["DeviceId"] for t in sim.device_tags.values() if t["TagId"] == 1}
        assert 0 < len(expected) < len(sim.devices)
        assert {d.id for d in mdm.devices.list(tag_id="1")} == expected

    def test_filters_combine(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        tagged = {t["DeviceId"] for t in sim.device_tags.values() if t["TagId"] == 1}
        device_id = next(d for d in tagged if sim.devices[d]["UserId"] is not None)
        rec = sim.devices[device_id]
        found = mdm.devices.list(
            serial_number=rec["SerialNumber"],
            group_id=rec["GroupId"],
            user_id=rec["UserId"],
            account=rec["AccountName"],
            tag_id=1,
        )
        assert [d.id for d in found] == [device_id]
        assert list(mdm.devices.list(serial_number=rec["SerialNumber"], tag_id=2)) == []
        in_group_with_tag = {d.id for d in mdm.devices.list(group_id=rec["GroupId"], tag_id=1)}
        assert in_group_with_tag == {
            d for d in tagged if sim.devices[d]["GroupId"] == rec["GroupId"]
        }

    def test_assign_user_moves_the_device_to_the_users_group(
        self, fresh: tuple[SimServer, mdmbridge.Client]
    ) -> None:
        server, mdm = fresh
        sim = cast(DuoStationSimulator, server.app)
        device_id = next(d for d, r in sim.devices.items() if r["UserId"] is not None)
        old = dict(sim.devices[device_id])
        new_user = next(
            u
            for u, rec in sim.users.items()
            if u != old["UserId"] and rec["GroupId"] != old["GroupId"]
        )
        device = mdm.devices.assign_user(device_id, str(new_user))
        check_record(device, Device)
        assert device.user_id == str(new_user)
        assert device.group_id == str(sim.users[new_user]["GroupId"])
        assert sim.devices[device_id]["UserId"] == new_user
        assert sim.devices[device_id]["GroupId"] == sim.users[new_user]["GroupId"]
        assert sim.devices[device_id]["AccountName"] == sim.users[new_user]["AccountName"]
        assert device.raw == sim.devices[device_id]
        assert device_id in {d.id for d in mdm.devices.list(user_id=new_user)}
        assert device_id not in {d.id for d in mdm.devices.list(user_id=old["UserId"])}

    def test_assign_unknown_user_is_not_found(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        device_id = a_device(sim)
        before = dict(sim.devices[device_id])
        with raises(NotFound):
            mdm.devices.assign_user(device_id, "999999")
        assert sim.devices[device_id] == before


# --------------------------------------------------------------------------- tags


class TestTags:
    def test_list_and_get(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        tags = list(mdm.tags.list())
        assert {t.id for t in tags} == {str(i) for i in sim.tags}
        for tag in tags:
            check_record(tag, Tag)
            assert tag.raw == sim.tags[int(tag.id)]
        kassa = mdm.tags.get("1")
        assert (kassa.name, kassa.group_id) == ("Kassa", None)
        assert kassa.description == sim.tags[1]["Description"]
        with raises(NotFound):
            mdm.tags.get("999999")

    def test_create(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        tag = mdm.tags.create(name="Skolplattor", description="Elevernas iPads", group_id="2")
        new_id = max(sim.tags)
        assert tag.id == str(new_id)
        assert sim.tags[new_id] == {
            "Id": new_id,
            "Name": "Skolplattor",
            "Description": "Elevernas iPads",
            "GroupId": 2,
        }
        assert tag.raw == sim.tags[new_id] and tag.group_id == "2"
        bare = mdm.tags.create(name="Bara namn")
        assert bare.description is None and bare.group_id is None

    def test_update_changes_only_the_given_fields(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        tag = mdm.tags.create(name="Före", description="beskrivning", group_id="2")
        tid = int(tag.id)
        renamed = mdm.tags.update(tag.id, name="Efter")
        assert sim.tags[tid] == {
            "Id": tid,
            "Name": "Efter",
            "Description": "beskrivning",
            "GroupId": 2,
        }
        assert renamed.raw == sim.tags[tid]
        moved = mdm.tags.update(tid, group_id="3")
        assert moved.group_id == "3" and sim.tags[tid]["Description"] == "beskrivning"
        cleared = mdm.tags.update(tid, description=None, group_id=None)
        assert sim.tags[tid] == {"Id": tid, "Name": "Efter", "Description": None, "GroupId": None}
        assert cleared.description is None and cleared.group_id is None

    def test_delete(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        tag = mdm.tags.create(name="Tillfällig tagg")
        assert mdm.tags.delete(tag.id) is None
        assert int(tag.id) not in sim.tags
        with raises(NotFound):
            mdm.tags.get(tag.id)


# --------------------------------------------------------------------------- tag links


class TestDeviceTags:
    def test_list_get_and_filters(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        links = list(mdm.device_tags.list())
        assert {link.id for link in links} == {str(i) for i in sim.device_tags}
        for link in links:
            check_record(link, TagLink)
            assert link.target is TagTarget.DEVICE
            stored = sim.device_tags[int(link.id)]
            assert link.raw == stored
            assert (link.tag_id, link.target_id) == (str(stored["TagId"]), stored["DeviceId"])
            assert link.target_label == stored["SerialNumber"]
        first = sim.device_tags[1]
        assert mdm.device_tags.get("1").raw == first
        expected = {
            str(i) for i, t in sim.device_tags.items() if t["DeviceId"] == first["DeviceId"]
        }
        by_device = {link.id for link in mdm.device_tags.list(device_id=first["DeviceId"])}
        assert by_device == expected
        by_serial = {link.id for link in mdm.device_tags.list(serial_number=first["SerialNumber"])}
        assert by_serial == expected
        both = mdm.device_tags.list(
            device_id=first["DeviceId"], serial_number=first["SerialNumber"]
        )
        assert {link.id for link in both} == expected
        other = next(d for d in sim.devices if d != first["DeviceId"])
        mismatch = mdm.device_tags.list(device_id=other, serial_number=first["SerialNumber"])
        assert list(mismatch) == []

    def test_link_and_unlink(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        tag = mdm.tags.create(name="Enhetstagg")
        device_id = a_device(sim)
        link = mdm.device_tags.link(device_id=device_id.upper(), tag_id=tag.id)
        check_record(link, TagLink)
        new_id = max(sim.device_tags)
        assert link.id == str(new_id)
        assert sim.device_tags[new_id] == {
            "Id": new_id,
            "DeviceId": device_id,
            "TagId": int(tag.id),
            "SerialNumber": sim.devices[device_id]["SerialNumber"],
        }
        assert (link.target, link.target_id, link.tag_id) == (TagTarget.DEVICE, device_id, tag.id)
        assert device_id in {d.id for d in mdm.devices.list(tag_id=tag.id)}
        assert mdm.device_tags.unlink(link.id) is None
        assert new_id not in sim.device_tags
        with raises(NotFound):
            mdm.device_tags.get(link.id)


class TestUserTags:
    def test_list_get_and_filters(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        links = list(mdm.user_tags.list())
        assert {link.id for link in links} == {str(i) for i in sim.user_tags}
        for link in links:
            check_record(link, TagLink)
            assert link.target is TagTarget.USER
            assert link.raw == user_tag_payload(sim, int(link.id))
            assert link.target_label == sim.users[int(link.target_id)]["Name"]
        first = sim.user_tags[1]
        uid = first["UserId"]
        assert mdm.user_tags.get(1).raw == user_tag_payload(sim, 1)
        expected = {str(i) for i, t in sim.user_tags.items() if t["UserId"] == uid}
        assert {link.id for link in mdm.user_tags.list(user_id=str(uid))} == expected
        email = sim.users[uid]["Email"]
        assert {link.id for link in mdm.user_tags.list(email=email)} == expected
        assert {link.id for link in mdm.user_tags.list(user_id=uid, email=email)} == expected
        other = next(u for u in sim.users if u != uid)
        assert list(mdm.user_tags.list(user_id=other, email=email)) == []

    def test_link_and_unlink(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        tag = mdm.tags.create(name="Användartagg")
        link = mdm.user_tags.link(user_id="2", tag_id=tag.id)
        new_id = max(sim.user_tags)
        assert link.id == str(new_id)
        assert sim.user_tags[new_id] == {"Id": new_id, "UserId": 2, "TagId": int(tag.id)}
        assert (link.target, link.target_id, link.tag_id) == (TagTarget.USER, "2", tag.id)
        assert link.target_label == sim.users[2]["Name"]
        assert [u.id for u in mdm.users.list(tag_id=tag.id)] == ["2"]
        mdm.user_tags.unlink(link.id)
        assert new_id not in sim.user_tags
        assert list(mdm.users.list(tag_id=tag.id)) == []


class TestGroupTags:
    def test_list_and_get_with_all(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        links = list(mdm.group_tags.list())
        assert {link.id for link in links} == {str(i) for i in sim.group_tags}
        for link in links:
            check_record(link, TagLink)
            assert link.target is TagTarget.GROUP
            assert link.raw == sim.group_tags[int(link.id)]
        all_link = next(i for i, t in sim.group_tags.items() if t["GroupId"] == 0)
        got = mdm.group_tags.get(all_link)
        assert got.target_id == "0"  # "All" is kept as the vendor's 0
        assert got.tag_id == str(sim.group_tags[all_link]["TagId"])

    def test_link_to_a_group_and_to_all(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        tag = mdm.tags.create(name="Grupptagg")
        link = mdm.group_tags.link(group_id="3", tag_id=tag.id)
        assert sim.group_tags[int(link.id)] == {
            "Id": int(link.id),
            "GroupId": 3,
            "TagId": int(tag.id),
        }
        assert (link.target, link.target_id, link.tag_id) == (TagTarget.GROUP, "3", tag.id)
        to_all = mdm.group_tags.link(group_id="0", tag_id=tag.id)
        assert sim.group_tags[int(to_all.id)]["GroupId"] == 0
        assert to_all.target_id == "0" and to_all.id != link.id
        mdm.group_tags.unlink(link.id)
        mdm.group_tags.unlink(to_all.id)
        assert int(link.id) not in sim.group_tags and int(to_all.id) not in sim.group_tags
        mdm.tags.delete(tag.id)  # no links left: the vendor allows it
        assert int(tag.id) not in sim.tags


# --------------------------------------------------------------------------- apps


class TestApps:
    def test_list_and_get(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        apps = list(mdm.apps.list())
        assert {a.id for a in apps} == {str(i) for i in sim.apps}
        for app in apps:
            check_record(app, App)
            assert app.raw == sim.apps[int(app.id)]
        play = mdm.apps.get("2")
        assert (play.platform, play.store) == (Platform.ANDROID, AppStore.PLAY)
        assert play.version_number == sim.apps[2]["VersionNumber"]
        assert play.has_image_data is False and play.image_url == sim.apps[2]["ImageUrl"]
        in_house = mdm.apps.get(3)
        assert (in_house.platform, in_house.store) == (Platform.MACOS, AppStore.IN_HOUSE)
        assert in_house.has_image_data is True and in_house.image_url is None
        assert in_house.store_id == sim.apps[3]["StoreId"]
        with raises(NotFound):
            mdm.apps.get("999999")

    def test_upsert_adds_then_updates_the_same_app(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        added = mdm.apps.upsert(**app_args(description="Skannar streckkoder", version_number=10))
        check_record(added, App)
        new_id = max(sim.apps)
        assert added.id == str(new_id)
        assert sim.apps[new_id] == {
            "Id": new_id,
            "Name": "Lagerskanner",
            "Description": "Skannar streckkoder",
            "Company": "Öresund Data",
            "PackageId": "se.oresund.skanner",
            "VersionText": "1.0",
            "VersionNumber": 10,
            "Platform": 1,
            "Size": 1024,
            "Store": 1,
            "StoreId": "se.oresund.skanner",
            "ImageUrl": "https://apps.example.se/icons/skanner.png",
            "ImageData": None,
        }
        assert added.raw == sim.apps[new_id]
        count = len(sim.apps)
        updated = mdm.apps.upsert(
            **app_args(
                version_text="1.1",
                version_number=11,
                size=2048,
                platform=Platform.ANDROID,
                store=AppStore.PLAY,
                image_url=None,
                image_data=PNG_B64,
            )
        )
        assert updated.id == added.id and len(sim.apps) == count
        stored = sim.apps[new_id]
        assert (stored["VersionText"], stored["VersionNumber"], stored["Size"]) == ("1.1", 11, 2048)
        assert stored["ImageData"] == PNG_B64 and stored["ImageUrl"] is None
        assert updated.has_image_data is True and updated.image_url is None
        # the same package on another platform/store is another app
        ios = mdm.apps.upsert(**app_args(platform="ios", store="app_store", store_id="123456789"))
        assert ios.id != added.id and len(sim.apps) == count + 1
        assert sim.apps[int(ios.id)]["Platform"] == 0 and sim.apps[int(ios.id)]["Store"] == 0

    def test_upsert_in_house_macos_and_ios(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        mac = mdm.apps.upsert(
            **app_args(
                package_id="se.oresund.mac",
                platform="macos",
                store="in_house",
                store_id="https://apps.example.se/macos/verktyg-1.0.zip",
            )
        )
        assert sim.apps[int(mac.id)]["Store"] == 2 and sim.apps[int(mac.id)]["Platform"] == 2
        ios = mdm.apps.upsert(
            **app_args(
                package_id="se.oresund.ios",
                platform="ios",
                store="in_house",
                store_id="https://apps.example.se/ios/verktyg.ipa",
            )
        )
        assert (ios.platform, ios.store) == (Platform.IOS, AppStore.IN_HOUSE)


# --------------------------------------------------------------------------- commands


COMMAND_CASES: list[tuple[str, Callable[[mdmbridge.Client, str], CommandReceipt], str, dict]] = [
    ("lock", lambda m, d: m.devices.lock(d), "lockdevice", {}),
    ("wipe", lambda m, d: m.devices.wipe(d), "wipedevice", {}),
    ("clear_passcode", lambda m, d: m.devices.clear_passcode(d), "clearpasscode", {}),
    ("refresh", lambda m, d: m.devices.refresh(d), "inventorydevice", {}),
    (
        "send_message",
        lambda m, d: m.devices.send_message(d, "Hej Åsa!\nRing IT = 100% & snart"),
        "sendmessage",
        {"message": "Hej Åsa!\nRing IT = 100% & snart"},
    ),
    (
        "install_app",
        lambda m, d: m.devices.install_app(d, "2", vpp=True),
        "installapp",
        {"appId": 2, "vpp": True},
    ),
    (
        "install_app",
        lambda m, d: m.devices.install_app(d, 1),
        "installapp",
        {"appId": 1},
    ),
    (
        "remove_app",
        lambda m, d: m.devices.remove_app(d, "com.microsoft.teams"),
        "removeapp",
        {"identifier": "com.microsoft.teams"},
    ),
]

SEND_CASES: list[tuple[Command, str, dict]] = [
    (Command(kind="lock"), "lockdevice", {}),
    (Command.wipe(), "wipedevice", {}),
    (Command(kind=CommandKind.CLEAR_PASSCODE), "clearpasscode", {}),
    (Command.refresh(), "inventorydevice", {}),
    (Command(kind="send_message", message="Hallå"), "sendmessage", {"message": "Hallå"}),
    (
        Command(kind="install_app", app_id="3", vpp=False),
        "installapp",
        {"appId": 3, "vpp": False},
    ),
    (
        Command.remove_app("se.oresunddata.kassa"),
        "removeapp",
        {"identifier": "se.oresunddata.kassa"},
    ),
]


class TestCommands:
    @pytest.mark.parametrize(
        ("kind", "send", "endpoint", "body"),
        COMMAND_CASES,
        ids=[f"{c[0]}-{i}" for i, c in enumerate(COMMAND_CASES)],
    )
    def test_helpers(
        self,
        mdm: mdmbridge.Client,
        server: SimServer,
        sim: DuoStationSimulator,
        kind: str,
        send: Callable[[mdmbridge.Client, str], CommandReceipt],
        endpoint: str,
        body: dict[str, Any],
    ) -> None:
        device_id = a_device(sim)
        before = len(sim.commands)
        server.reset_counts()
        receipt = send(mdm, device_id.upper())
        assert server.count("POST") == 1 and server.count() == 1
        assert sim.commands[before:] == [(device_id, endpoint, body)]
        assert isinstance(receipt, CommandReceipt)
        assert receipt.command.kind == CommandKind(kind)
        assert (receipt.tenant, receipt.vendor, receipt.device_id) == (
            TENANT,
            "duostation",
            device_id,
        )

    @pytest.mark.parametrize(
        ("command", "endpoint", "body"), SEND_CASES, ids=[c[0].kind.value for c in SEND_CASES]
    )
    def test_send(
        self,
        mdm: mdmbridge.Client,
        server: SimServer,
        sim: DuoStationSimulator,
        command: Command,
        endpoint: str,
        body: dict[str, Any],
    ) -> None:
        device_id = list(sim.devices)[5]
        before = len(sim.commands)
        server.reset_counts()
        receipt = mdm.devices.send(device_id, command)
        assert server.count() == 1
        assert sim.commands[before:] == [(device_id, endpoint, body)]
        assert receipt.command == command and receipt.device_id == device_id

    def test_unknown_device_or_app_records_nothing(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        before = len(sim.commands)
        with raises(NotFound):
            mdm.devices.wipe(MISSING_GUID)
        with raises(NotFound):
            mdm.devices.install_app(a_device(sim), "999999")
        assert len(sim.commands) == before


# --------------------------------------------------------------------------- new ids


class TestNewIdShapes:
    @pytest.mark.parametrize("shape", ["number", "string", "object"])
    def test_create_reads_every_id_shape(
        self, duo_sim: Callable[..., SimServer], shape: str
    ) -> None:
        server = duo_sim(devices=3, id_shape=shape)
        sim = cast(DuoStationSimulator, server.app)
        with connect_duo(server) as mdm:
            group = mdm.groups.create(name=f"Grupp {shape}")
            assert group.id == str(max(sim.groups)) and group.name == f"Grupp {shape}"
            user = mdm.users.create(name=f"Användare {shape}", group_id=group.id)
            assert user.id == str(max(sim.users)) and user.group_id == group.id
            tag = mdm.tags.create(name=f"Tagg {shape}")
            assert tag.id == str(max(sim.tags)) and tag.name == f"Tagg {shape}"
            link = mdm.device_tags.link(device_id=next(iter(sim.devices)), tag_id=tag.id)
            assert link.id == str(max(sim.device_tags)) and link.tag_id == tag.id
            user_link = mdm.user_tags.link(user_id=user.id, tag_id=tag.id)
            assert user_link.id == str(max(sim.user_tags))
            group_link = mdm.group_tags.link(group_id=group.id, tag_id=tag.id)
            assert group_link.id == str(max(sim.group_tags))
            app = mdm.apps.upsert(
                **app_args(
                    package_id=f"se.shape.{shape}",
                    store_id="123456789",
                    platform="ios",
                    store="app_store",
                )
            )
        assert app.id == str(max(sim.apps)) and app.package_id == f"se.shape.{shape}"


# --------------------------------------------------------------------------- refusals


class TestVendorRefusals:
    def test_delete_group_with_subgroups(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        assert any(g["ParentId"] == 1 for g in sim.groups.values())
        snapshot = state(sim)
        with raises(Conflict):
            mdm.groups.delete("1")
        assert state(sim) == snapshot

    def test_delete_group_with_users(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        group_id = leaf_group_with_users(sim)
        snapshot = state(sim)
        with raises(Conflict):
            mdm.groups.delete(group_id)
        assert state(sim) == snapshot

    def test_delete_group_with_a_tag_link(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        group = mdm.groups.create(name="Taggad grupp")
        tag = mdm.tags.create(name="Länkad tagg")
        link = mdm.group_tags.link(group_id=group.id, tag_id=tag.id)
        snapshot = state(sim)
        with raises(Conflict):
            mdm.groups.delete(group.id)
        assert state(sim) == snapshot
        mdm.group_tags.unlink(link.id)
        mdm.groups.delete(group.id)  # without the link it goes
        assert int(group.id) not in sim.groups

    def test_delete_user_with_devices(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        uid = user_with_devices(sim)
        snapshot = state(sim)
        with raises(Conflict):
            mdm.users.delete(uid)
        assert state(sim) == snapshot

    def test_delete_tag_with_links(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        snapshot = state(sim)
        for tag_id in ("1", "2", "4"):  # linked to devices, users and groups
            with raises(Conflict):
                mdm.tags.delete(tag_id)
        assert state(sim) == snapshot

    def test_linking_the_same_tag_twice(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        tag = mdm.tags.create(name="Dubbellänk")
        device_id = a_device(sim)
        mdm.device_tags.link(device_id=device_id, tag_id=tag.id)
        mdm.user_tags.link(user_id="3", tag_id=tag.id)
        mdm.group_tags.link(group_id="0", tag_id=tag.id)
        snapshot = state(sim)
        with raises(Conflict):
            mdm.device_tags.link(device_id=device_id, tag_id=tag.id)
        with raises(Conflict):
            mdm.user_tags.link(user_id="3", tag_id=tag.id)
        with raises(Conflict):
            mdm.group_tags.link(group_id="0", tag_id=tag.id)
        assert state(sim) == snapshot

    def test_unlink_unknown_link_is_not_found(self, mdm: mdmbridge.Client) -> None:
        with raises(NotFound):
            mdm.device_tags.unlink("999999")
        with raises(NotFound):
            mdm.user_tags.unlink("999999")
        with raises(NotFound):
            mdm.group_tags.unlink("999999")


# --------------------------------------------------------------------------- local validation

GUID = "7b2f0a4b-9eef-4f91-8cc8-04713bcb0685"  # shape only; never reaches the simulator
BAD_INTS = ["abc", "1.5", "-3"]

Call = Callable[[mdmbridge.Client], Any]


def _bad_id_calls(bad: str) -> list[tuple[str, Call]]:
    return [
        ("groups.get", lambda m: m.groups.get(bad)),
        ("groups.update", lambda m: m.groups.update(bad, name="x")),
        ("groups.delete", lambda m: m.groups.delete(bad)),
        ("groups.create.parent", lambda m: m.groups.create(name="x", parent_id=bad)),
        ("users.get", lambda m: m.users.get(bad)),
        ("users.update", lambda m: m.users.update(bad, name="x")),
        ("users.delete", lambda m: m.users.delete(bad)),
        ("users.create.group", lambda m: m.users.create(name="x", group_id=bad)),
        ("users.update.group", lambda m: m.users.update("1", group_id=bad)),
        ("users.list.group", lambda m: list(m.users.list(group_id=bad))),
        ("users.list.tag", lambda m: list(m.users.list(tag_id=bad))),
        ("devices.list.group", lambda m: list(m.devices.list(group_id=bad))),
        ("devices.list.user", lambda m: list(m.devices.list(user_id=bad))),
        ("devices.list.tag", lambda m: list(m.devices.list(tag_id=bad))),
        ("devices.assign_user", lambda m: m.devices.assign_user(GUID, bad)),
        ("devices.install_app", lambda m: m.devices.install_app(GUID, bad)),
        ("tags.get", lambda m: m.tags.get(bad)),
        ("tags.update", lambda m: m.tags.update(bad, name="x")),
        ("tags.delete", lambda m: m.tags.delete(bad)),
        ("tags.create.group", lambda m: m.tags.create(name="x", group_id=bad)),
        ("tags.update.group", lambda m: m.tags.update("1", group_id=bad)),
        ("apps.get", lambda m: m.apps.get(bad)),
        ("device_tags.get", lambda m: m.device_tags.get(bad)),
        ("device_tags.unlink", lambda m: m.device_tags.unlink(bad)),
        ("device_tags.link.tag", lambda m: m.device_tags.link(device_id=GUID, tag_id=bad)),
        ("user_tags.get", lambda m: m.user_tags.get(bad)),
        ("user_tags.unlink", lambda m: m.user_tags.unlink(bad)),
        ("user_tags.list.user", lambda m: list(m.user_tags.list(user_id=bad))),
        ("user_tags.link.user", lambda m: m.user_tags.link(user_id=bad, tag_id="1")),
        ("user_tags.link.tag", lambda m: m.user_tags.link(user_id="1", tag_id=bad)),
        ("group_tags.get", lambda m: m.group_tags.get(bad)),
        ("group_tags.unlink", lambda m: m.group_tags.unlink(bad)),
        ("group_tags.link.group", lambda m: m.group_tags.link(group_id=bad, tag_id="1")),
        ("group_tags.link.tag", lambda m: m.group_tags.link(group_id="1", tag_id=bad)),
    ]


BAD_ID_CASES = [
    pytest.param(call, id=f"{name}[{bad}]") for bad in BAD_INTS for name, call in _bad_id_calls(bad)
]

BAD_GUID_CASES: list[tuple[str, Call]] = [
    ("devices.get", lambda m: m.devices.get("not-a-guid")),
    ("devices.get.short", lambda m: m.devices.get(GUID[:-1])),
    ("devices.get.int", lambda m: m.devices.get(42)),
    ("devices.assign_user", lambda m: m.devices.assign_user("abc", "1")),
    ("devices.lock", lambda m: m.devices.lock("abc")),
    ("devices.wipe", lambda m: m.devices.wipe("1234")),
    ("devices.send", lambda m: m.devices.send("zz", Command.refresh())),
    ("device_tags.link", lambda m: m.device_tags.link(device_id="abc", tag_id="1")),
    ("device_tags.list", lambda m: list(m.device_tags.list(device_id="abc"))),
]

OTHER_INVALID_CASES: list[tuple[str, Call]] = [
    ("groups.create.empty_name", lambda m: m.groups.create(name="")),
    ("groups.create.blank_name", lambda m: m.groups.create(name="   ")),
    (
        "groups.create.lost_mode_partial",
        lambda m: m.groups.create(name="x", lost_mode_message="m", lost_mode_phone_number="p"),
    ),
    (
        "groups.create.lost_mode_blank",
        lambda m: m.groups.create(
            name="x", lost_mode_message="m", lost_mode_phone_number="p", lost_mode_footnote=" "
        ),
    ),
    ("groups.create.lost_mode_one", lambda m: m.groups.create(name="x", lost_mode_footnote="f")),
    ("groups.update.empty_name", lambda m: m.groups.update("1", name="")),
    ("groups.update.nothing", lambda m: m.groups.update("1")),
    ("groups.list.empty_path", lambda m: list(m.groups.list(path=""))),
    ("groups.list.slash_path", lambda m: list(m.groups.list(path="/ \\ /"))),
    ("groups.get.empty_id", lambda m: m.groups.get("  ")),
    ("groups.get.zero", lambda m: m.groups.get("0")),
    ("groups.get.float", lambda m: m.groups.get(1.5)),
    ("users.create.empty_name", lambda m: m.users.create(name="")),
    ("users.update.blank_name", lambda m: m.users.update("1", name="  ")),
    ("users.update.nothing", lambda m: m.users.update("1")),
    ("tags.create.empty_name", lambda m: m.tags.create(name="")),
    ("tags.update.empty_name", lambda m: m.tags.update("1", name="")),
    ("tags.update.nothing", lambda m: m.tags.update("1")),
    ("user_tags.link.zero_user", lambda m: m.user_tags.link(user_id="0", tag_id="1")),
    ("devices.send_message.empty", lambda m: m.devices.send_message(GUID, "")),
    ("devices.send_message.blank", lambda m: m.devices.send_message(GUID, " \n ")),
    ("devices.remove_app.empty", lambda m: m.devices.remove_app(GUID, "")),
    ("devices.send.not_a_command", lambda m: m.devices.send(GUID, "lock")),
]

APP_INVALID_CASES: list[tuple[str, dict[str, Any]]] = [
    ("empty_name", app_args(name="")),
    ("empty_company", app_args(company=" ")),
    ("image_data_and_url", app_args(image_data=PNG_B64)),
    ("no_image", app_args(image_url=None)),
    ("image_data_not_base64", app_args(image_url=None, image_data="not base64!")),
    (
        "image_data_not_png",
        app_args(image_url=None, image_data=base64.b64encode(b"GIF89a....").decode()),
    ),
    ("play_store_id_differs", app_args(store_id="se.oresund.annan")),
    ("app_store_id_not_digits", app_args(platform="ios", store="app_store", store_id="id12345")),
    (
        "app_store_id_non_ascii_digits",
        app_args(platform="ios", store="app_store", store_id="\u0661\u0662\u0663"),
    ),
    (
        "mac_in_house_dmg",
        app_args(platform="macos", store="in_house", store_id="https://x.example/a.dmg"),
    ),
    (
        "mac_in_house_not_a_url",
        app_args(platform="macos", store="in_house", store_id="verktyg.pkg"),
    ),
    (
        "mac_in_house_ftp",
        app_args(platform="macos", store="in_house", store_id="ftp://x.example/a.pkg"),
    ),
    (
        "mac_in_house_no_host",
        app_args(platform="macos", store="in_house", store_id="https:///a.pkg"),
    ),
    ("platform_windows", app_args(platform="windows")),
    ("platform_unknown_code", app_args(platform=7)),
    ("store_unknown", app_args(store="microsoft")),
    ("negative_size", app_args(size=-1)),
    ("size_not_int", app_args(size="1024")),
    ("version_number_not_int", app_args(version_number="10")),
]


class TestLocalValidation:
    @pytest.mark.parametrize("call", BAD_ID_CASES)
    def test_non_integer_ids(self, mdm: mdmbridge.Client, server: SimServer, call: Call) -> None:
        with no_requests(server), raises(ValidationError):
            call(mdm)

    @pytest.mark.parametrize(("name", "call"), BAD_GUID_CASES, ids=[c[0] for c in BAD_GUID_CASES])
    def test_non_guid_device_ids(
        self, mdm: mdmbridge.Client, server: SimServer, name: str, call: Call
    ) -> None:
        with no_requests(server), raises(ValidationError):
            call(mdm)

    @pytest.mark.parametrize(
        ("name", "call"), OTHER_INVALID_CASES, ids=[c[0] for c in OTHER_INVALID_CASES]
    )
    def test_invalid_input(
        self, mdm: mdmbridge.Client, server: SimServer, name: str, call: Call
    ) -> None:
        with no_requests(server), raises(ValidationError):
            call(mdm)

    @pytest.mark.parametrize(
        ("name", "args"), APP_INVALID_CASES, ids=[c[0] for c in APP_INVALID_CASES]
    )
    def test_invalid_apps(
        self,
        mdm: mdmbridge.Client,
        server: SimServer,
        sim: DuoStationSimulator,
        name: str,
        args: dict[str, Any],
    ) -> None:
        before = copy.deepcopy(sim.apps)
        with no_requests(server), raises(ValidationError):
            mdm.apps.upsert(**args)
        assert sim.apps == before

    def test_the_valid_app_baseline_is_accepted(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        """The invalid cases above each break one rule of this valid app."""
        app = mdm.apps.upsert(
            **app_args(package_id="se.oresund.baseline", store_id="se.oresund.baseline")
        )
        assert sim.apps[int(app.id)]["PackageId"] == "se.oresund.baseline"

    @pytest.mark.parametrize(
        "build",
        [
            lambda: Command(kind="send_message"),
            lambda: Command(kind="send_message", message=""),
            lambda: Command(kind="install_app"),
            lambda: Command(kind="remove_app", identifier="  "),
            lambda: Command(kind="lock", message="extra"),
            lambda: Command(kind="wipe", app_id="1"),
            lambda: Command(kind="remove_app", identifier="com.x.y", vpp=True),
            lambda: Command(kind="send_message", message="hej", colour="blue"),
            lambda: Command(kind="reboot"),
        ],
        ids=[
            "message-missing",
            "message-empty",
            "app-missing",
            "identifier-blank",
            "lock-extra",
            "wipe-extra",
            "remove-extra",
            "unknown-field",
            "unknown-kind",
        ],
    )
    def test_command_parameters_are_checked_at_construction(
        self, build: Callable[[], Command]
    ) -> None:
        with raises(pydantic.ValidationError):
            build()

    def test_unsupported_operations(
        self, mdm: mdmbridge.Client, server: SimServer, sim: DuoStationSimulator
    ) -> None:
        device_id = a_device(sim)
        with no_requests(server), raises(UnsupportedOperation):
            list(mdm.locations.list(device_id=device_id))
        with no_requests(server), raises(UnsupportedOperation):
            mdm.devices.rename(device_id, "Nytt namn")
        assert not mdm.supports(mdmbridge.Capability.DEVICE_LOCATIONS)
        assert not mdm.supports(mdmbridge.Capability.DEVICES_RENAME)


# --------------------------------------------------------------------------- payload tolerance


class TestPayloadTolerance:
    def test_unknown_fields_end_up_in_raw(self, fresh: tuple[SimServer, mdmbridge.Client]) -> None:
        server, mdm = fresh
        sim = cast(DuoStationSimulator, server.app)
        device_id = a_device(sim)
        extra = {
            "EnrollmentProfile": {"Name": "DEP Göteborg", "Steps": [1, 2]},
            "IsSupervised": True,
        }
        sim.devices[device_id].update(extra)
        sim.users[1]["FavouriteFika"] = "kanelbulle"
        device = mdm.devices.get(device_id)
        assert device.raw["EnrollmentProfile"] == extra["EnrollmentProfile"]
        assert device.raw["IsSupervised"] is True and device.raw == sim.devices[device_id]
        listed = next(d for d in mdm.devices.list() if d.id == device_id)
        assert listed.raw["IsSupervised"] is True
        user = mdm.users.get(1)
        assert user.raw["FavouriteFika"] == "kanelbulle"
        assert [u.id for u in mdm.users.list(email=sim.users[1]["Email"])] == ["1"]

    def test_missing_optional_fields_are_none(
        self, fresh: tuple[SimServer, mdmbridge.Client]
    ) -> None:
        server, mdm = fresh
        sim = cast(DuoStationSimulator, server.app)
        device_id = a_device(sim)
        record = sim.devices[device_id]
        for key in ("Imei", "Udid", "BatteryLevel", "LastSeen", "OsVersion", "Model", "Platform"):
            del record[key]
        device = mdm.devices.get(device_id)
        assert device.imei is None and device.udid is None and device.battery_level is None
        assert device.last_seen is None and device.os_version is None and device.model is None
        assert device.platform is Platform.UNKNOWN
        assert device.serial_number == record["SerialNumber"]
        for key in ("Company", "Office", "Department", "Position", "AccountGroup"):
            del sim.users[2][key]
        user = mdm.users.get(2)
        assert user.company is None and user.account_group is None and user.position is None
        assert user.name == sim.users[2]["Name"]

    def test_unknown_enum_values_degrade_to_unknown(
        self, fresh: tuple[SimServer, mdmbridge.Client]
    ) -> None:
        server, mdm = fresh
        sim = cast(DuoStationSimulator, server.app)
        device_id = a_device(sim)
        sim.devices[device_id]["Platform"] = "Windows Phone"
        sim.apps[1]["Platform"] = 9
        sim.apps[1]["Store"] = 7
        assert mdm.devices.get(device_id).platform is Platform.UNKNOWN
        app = mdm.apps.get(1)
        assert (app.platform, app.store) == (Platform.UNKNOWN, AppStore.UNKNOWN)
        assert app.raw["Platform"] == 9

    def test_group_with_null_optional_fields(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        group = mdm.groups.create(name="Tom grupp")
        stored = sim.groups[int(group.id)]
        assert stored["Number"] is None and stored["Notes"] is None
        again = mdm.groups.get(group.id)
        for field in (
            "number",
            "notes",
            "lost_mode_message",
            "lost_mode_phone_number",
            "lost_mode_footnote",
            "parent_id",
        ):
            assert getattr(again, field) is None, field
        assert again.raw["Number"] is None and again.raw["LostModeFootNode"] is None


# --------------------------------------------------------------------------- auth


class TestAuth:
    def test_wrong_password_is_an_auth_error_without_secrets(
        self, mdm: mdmbridge.Client, server: SimServer
    ) -> None:
        wrong = "Wrong-Canary-Pw-5581"
        tokens = [
            base64.b64encode(f"{DUO_USER}:{wrong}".encode()).decode(),
            base64.b64encode(f"{DUO_USER}:{DUO_PASSWORD}".encode()).decode(),
        ]
        with connect_duo(server, password=wrong) as bad:
            with raises(AuthError) as listing:
                list(bad.groups.list())
            with raises(AuthError) as getting:
                bad.devices.get(GUID)
            with raises(AuthError) as writing:
                bad.groups.create(name="Ska inte skapas")
        assert "Ska inte skapas" not in {g.name for g in mdm.groups.list()}
        for info in (listing, getting, writing):
            exc = info.value
            assert exc.status == 401
            texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
            for text in texts:
                for secret in (wrong, DUO_PASSWORD, *tokens):
                    assert secret not in text

    def test_right_password_works(self, mdm: mdmbridge.Client) -> None:
        assert mdm.vendor == "duostation" and mdm.tenant == TENANT
        assert next(iter(mdm.groups.list())).vendor == "duostation"


# --------------------------------------------------------------------------- text


class TestSpecialCharacters:
    def test_group_name_and_notes_round_trip(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        parent = mdm.groups.create(name=SPECIAL, notes=NOTES, number="#1 & =2")
        stored = sim.groups[int(parent.id)]
        assert (stored["Name"], stored["Notes"], stored["Number"]) == (SPECIAL, NOTES, "#1 & =2")
        assert (parent.name, parent.notes, parent.number) == (SPECIAL, NOTES, "#1 & =2")
        child = mdm.groups.create(name="Ärende + 50% rabatt", parent_id=parent.id)
        assert [g.id for g in mdm.groups.list(path=SPECIAL)] == [parent.id]
        path = f"{SPECIAL}/Ärende + 50% rabatt"
        assert [g.id for g in mdm.groups.list(path=path)] == [child.id]
        assert [g.id for g in mdm.groups.list(path=path.replace("/", "\\"))] == [child.id]
        assert [g.id for g in mdm.groups.list(number="#1 & =2")] == [parent.id]
        renamed = mdm.groups.update(child.id, notes="ny rad\nandra rad\r\ntredje")
        assert renamed.notes == "ny rad\nandra rad\r\ntredje"
        assert renamed.name == "Ärende + 50% rabatt"

    def test_user_fields_round_trip_and_filter(
        self, mdm: mdmbridge.Client, sim: DuoStationSimulator
    ) -> None:
        user = mdm.users.create(
            name=SPECIAL,
            email="åsa+öberg&co=1@exempel.se",
            account="åsa&co=100%",
            phone="+46 (0)31 = 1&2",
            department="Lager & Logistik\nAvdelning 2",
        )
        uid = int(user.id)
        assert sim.users[uid]["Name"] == SPECIAL
        assert sim.users[uid]["Email"] == "åsa+öberg&co=1@exempel.se"
        assert mdm.users.get(uid).department == "Lager & Logistik\nAvdelning 2"
        assert [u.id for u in mdm.users.list(email="åsa+öberg&co=1@exempel.se")] == [user.id]
        assert [u.id for u in mdm.users.list(account="åsa&co=100%")] == [user.id]
        assert [u.id for u in mdm.users.list(phone="+46 (0)31 = 1&2")] == [user.id]
        tag = mdm.tags.create(name=SPECIAL, description=NOTES)
        assert mdm.tags.get(tag.id).description == NOTES
        link = mdm.user_tags.link(user_id=user.id, tag_id=tag.id)
        assert link.target_label == SPECIAL
        by_email = mdm.user_tags.list(email="åsa+öberg&co=1@exempel.se")
        assert [link.id for link in by_email] == [link.id]

    def test_app_text_round_trip(self, mdm: mdmbridge.Client, sim: DuoStationSimulator) -> None:
        app = mdm.apps.upsert(
            **app_args(
                name=SPECIAL,
                description=NOTES,
                company="Måleri & Bygg AB",
                package_id="se.maleri.app",
                store_id="se.maleri.app",
                version_text="2.0 (beta) & mer",
            )
        )
        assert sim.apps[int(app.id)]["Name"] == SPECIAL
        assert (app.name, app.description, app.version_text) == (SPECIAL, NOTES, "2.0 (beta) & mer")


def test_password_too_short_to_redact_is_refused() -> None:
    with pytest.raises(mdmbridge.ConfigError, match="password") as info:
        mdmbridge.connect(
            "duostation", tenant="t", base_url="https://mdm.example", username="api", password="abc"
        )
    assert "abc" not in str(info.value)
