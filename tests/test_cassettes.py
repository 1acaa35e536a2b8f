"""Realistic workflows through the public API, replayed from vcrpy cassettes.

In CI these replay ``cassettes/<vendor>/*.yaml`` with ``record_mode="none"`` and no simulator:
the client talks to the canonical host (``http://duostation.sim``, ``http://ezmdm.sim``),
which never resolves, so a request that is not in the cassette fails loudly with vcrpy's
``CannotOverwriteExistingCassetteException``. Re-record them from fresh simulators with::

    MDMBRIDGE_RECORD_CASSETTES=1 .venv/bin/python -m pytest tests/test_cassettes.py

Every workflow is deterministic (seeded fleets, ``page_concurrency=1``), so a replay sends
exactly the recorded requests, in order, and every recorded interaction must be played.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import mdmbridge
from mdmbridge.simulation import SimServer
from tests import cassettes
from tests.conftest import connect_duo, connect_ez
from tests.support import raises

SEED = 1
DUO_DEVICES = 12
EZ_DEVICES = 130  # more than one page of users and devices at page_size=50
EZ_PAGE = 50
TRICKY = "Lager & Logistik = 1 + 1 å ä ö"  # `&`, `=` and `+` must survive the form body


@contextlib.contextmanager
def cassette_client(
    vendor: str,
    name: str,
    start: Callable[..., SimServer],
    connect: Callable[..., mdmbridge.Client],
    *,
    devices: int,
    **settings: Any,
) -> Iterator[mdmbridge.Client]:
    """A client whose every request goes through the cassette ``cassettes/<vendor>/<name>``.

    Recording: a fresh seeded simulator on a loopback port. Replaying: the canonical host,
    and afterwards every recorded interaction must have been played (same requests, same
    order, nothing left over).
    """
    path = cassettes.cassette_dir(vendor) / f"{name}.yaml"
    if cassettes.recording():
        base_url = start(devices=devices, seed=SEED).base_url
    else:
        assert path.is_file(), (
            f"missing cassette {path.relative_to(cassettes.REPO_ROOT)}; record it with "
            f"{cassettes.RECORD_ENV}=1 .venv/bin/python -m pytest tests/test_cassettes.py"
        )
        base_url = cassettes.CANONICAL_BASE_URL[vendor]
    with cassettes.vcr_for(vendor).use_cassette(path.name) as cassette:
        client = connect(SimpleNamespace(base_url=base_url), **settings)
        try:
            yield client
        finally:
            client.close()
    if cassettes.recording():
        assert len(cassette) > 0
    else:
        unplayed = len(cassette) - cassette.play_count
        assert cassette.all_played, f"{unplayed} recorded interaction(s) were never requested"


# ------------------------------------------------------------------------------ DuoSTATION


def test_duostation_inventory(duo_sim: Callable[..., SimServer]) -> None:
    with cassette_client(
        "duostation", "inventory", duo_sim, connect_duo, devices=DUO_DEVICES
    ) as mdm:
        groups = list(mdm.groups.list())
        users = list(mdm.users.list())
        devices = list(mdm.devices.list())
        assert (len(groups), len(users), len(devices)) == (40, 9, 12)
        assert {g.name for g in groups if g.parent_id is None} == {
            "Göteborg",
            "Malmö",
            "Stockholm",
            "Västerås",
        }
        by_id = {g.id: g for g in groups}
        for group in groups:
            if group.parent_id is not None:
                parent = by_id[group.parent_id]
                assert group.path == f"{parent.path}/{group.name}"

        # One device in full, then the same device found by its serial number.
        device = devices[2]
        fetched = mdm.devices.get(device.id)
        assert fetched == device
        assert len(fetched.id) == 36 and fetched.serial_number
        assert fetched.platform in {mdmbridge.Platform.IOS, mdmbridge.Platform.ANDROID}
        by_serial = list(mdm.devices.list(serial_number=device.serial_number))
        assert [d.id for d in by_serial] == [device.id]

        # Filters agree with the full listing.
        owner = next(u for u in users if u.id == device.user_id)
        assert owner.group_id == device.group_id
        owned = [d.id for d in mdm.devices.list(user_id=owner.id)]
        assert owned == [d.id for d in devices if d.user_id == owner.id]
        assert device.id in owned
        members = [u.id for u in mdm.users.list(group_id=owner.group_id)]
        assert members == [u.id for u in users if u.group_id == owner.group_id]

        # A group by its path, with either separator.
        team = by_id[owner.group_id]
        assert team.path is not None
        [found] = mdm.groups.list(path=team.path.replace("/", "\\"))
        assert found.id == team.id

        tags = [t.name for t in mdm.tags.list()]
        assert tags == ["Kassa", "Fältpersonal", "BYOD", "Lager & Logistik"]
        assert len(list(mdm.apps.list())) == 3


def test_duostation_group_and_user_lifecycle(duo_sim: Callable[..., SimServer]) -> None:
    with cassette_client(
        "duostation", "group_user_lifecycle", duo_sim, connect_duo, devices=DUO_DEVICES
    ) as mdm:
        parent = mdm.groups.create(name="Kassett & Co", number="9001", notes="inspelad")
        assert (parent.name, parent.number, parent.notes) == ("Kassett & Co", "9001", "inspelad")
        assert parent.parent_id is None and parent.id == "41"  # 40 seeded groups before it

        child = mdm.groups.create(name="Team Åsa", parent_id=parent.id)
        assert child.parent_id == parent.id
        assert child.path == "Kassett & Co/Team Åsa"

        renamed = mdm.groups.update(child.id, name="Team Åsa Öberg", notes="uppdaterad")
        assert (renamed.id, renamed.name, renamed.notes) == (
            child.id,
            "Team Åsa Öberg",
            "uppdaterad",
        )
        assert renamed.parent_id == parent.id  # the read-modify-write kept the parent

        user = mdm.users.create(
            name="Örjan Kassettsson",
            email="orjan.kassettsson@example.se",
            group_id=child.id,
            department="Lager & Logistik",
        )
        assert (user.name, user.group_id, user.department) == (
            "Örjan Kassettsson",
            child.id,
            "Lager & Logistik",
        )
        assert [u.id for u in mdm.users.list(group_id=child.id)] == [user.id]
        moved = mdm.users.update(user.id, phone="+46701234567", position="Tekniker")
        assert (moved.phone, moved.position, moved.email) == (
            "+46701234567",
            "Tekniker",
            "orjan.kassettsson@example.se",
        )

        # Refusals the vendor reports, mapped onto the error tree.
        with raises(mdmbridge.Conflict):
            mdm.groups.delete(parent.id)  # it has a subgroup
        with raises(mdmbridge.NotFound):
            mdm.users.get("999999")

        # Tear down in the order the vendor allows.
        mdm.users.delete(user.id)
        mdm.groups.delete(child.id)
        mdm.groups.delete(parent.id)
        with raises(mdmbridge.NotFound):
            mdm.groups.get(parent.id)
        assert len(list(mdm.groups.list())) == 40


def test_duostation_tags_apps_and_commands(duo_sim: Callable[..., SimServer]) -> None:
    with cassette_client(
        "duostation", "tags_apps_commands", duo_sim, connect_duo, devices=DUO_DEVICES
    ) as mdm:
        device = list(mdm.devices.list())[3]
        tag = next(t for t in mdm.tags.list() if t.name == "Fältpersonal")
        before = [link.id for link in mdm.device_tags.list(device_id=device.id)]

        link = mdm.device_tags.link(device_id=device.id, tag_id=tag.id)
        assert (link.target, link.target_id, link.tag_id) == (
            mdmbridge.TagTarget.DEVICE,
            device.id,
            tag.id,
        )
        assert link.target_label == device.serial_number
        after = [x.id for x in mdm.device_tags.list(device_id=device.id)]
        assert after == [*before, link.id]
        with raises(mdmbridge.Conflict):
            mdm.device_tags.link(device_id=device.id, tag_id=tag.id)  # already linked
        mdm.device_tags.unlink(link.id)
        assert [x.id for x in mdm.device_tags.list(device_id=device.id)] == before
        with raises(mdmbridge.NotFound):
            mdm.device_tags.get(link.id)

        app_fields: dict[str, Any] = {
            "name": "Kassett Skanner",
            "company": "Öresund Data",
            "package_id": "se.oresunddata.skanner",
            "platform": "android",
            "size": 4_812_345,
            "store": "play",
            "store_id": "se.oresunddata.skanner",
            "image_url": "https://cdn.example.se/skanner.png",
        }
        added = mdm.apps.upsert(version_text="1.0", **app_fields)
        updated = mdm.apps.upsert(version_text="1.1", version_number=11, **app_fields)
        assert updated.id == added.id == "4"  # three seeded apps before it; matched, not added
        assert (added.version_text, updated.version_text, updated.version_number) == (
            "1.0",
            "1.1",
            11,
        )
        assert (updated.platform, updated.store) == (
            mdmbridge.Platform.ANDROID,
            mdmbridge.AppStore.PLAY,
        )
        assert len(list(mdm.apps.list())) == 4

        receipt = mdm.devices.lock(device.id)
        assert (receipt.device_id, receipt.command.kind) == (device.id, mdmbridge.CommandKind.LOCK)
        message = mdm.devices.send_message(device.id, "Ring IT-support på 031-709 60 66 & tack!")
        assert message.command.message == "Ring IT-support på 031-709 60 66 & tack!"
        with raises(mdmbridge.NotFound):
            mdm.devices.lock("00000000-0000-4000-8000-000000000000")


# ------------------------------------------------------------------------------ ezmdm


def _ez(name: str, ez_sim: Callable[..., SimServer]) -> contextlib.AbstractContextManager[Any]:
    return cassette_client(
        "ezmdm",
        name,
        ez_sim,
        connect_ez,
        devices=EZ_DEVICES,
        page_size=EZ_PAGE,
        page_concurrency=1,  # pages in a fixed order, so replay sends the recorded requests
    )


def test_ezmdm_paged_inventory(ez_sim: Callable[..., SimServer]) -> None:
    with _ez("paged_inventory", ez_sim) as mdm:
        groups = list(mdm.groups.list())
        users = list(mdm.users.list())  # 3 pages
        devices = list(mdm.devices.list())  # 3 pages
        assert (len(groups), len(users), len(devices)) == (40, 104, 130)
        for records in (groups, users, devices):
            ids = [r.id for r in records]
            assert len(set(ids)) == len(ids)
            assert all(len(i) == 30 and i.isdigit() for i in ids)
        assert groups[0].name == "Göteborg"
        assert sum(1 for d in devices if d.user_id is None) == 7
        user_ids = {u.id for u in users}
        assert all(d.user_id in user_ids for d in devices if d.user_id is not None)

        # Children of one id: the users of a group, the devices of a user.
        busiest_group = max(
            {u.group_id for u in users}, key=lambda g: sum(u.group_id == g for u in users)
        )
        members = list(mdm.users.list(group_id=busiest_group))
        assert [u.id for u in members] == [u.id for u in users if u.group_id == busiest_group]
        assert len(members) == 8

        owner = next(u for u in users if sum(d.user_id == u.id for d in devices) == 4)
        owned = list(mdm.devices.list(user_id=owner.id))
        assert [d.id for d in owned] == [d.id for d in devices if d.user_id == owner.id]
        assert all(d.model and d.serial_number and d.last_seen for d in owned)

        # Locations of a device: oldest first, all before its last check-in.
        device = devices[5]
        locations = list(mdm.locations.list(device_id=device.id))
        assert len(locations) == 3
        assert all(loc.device_id == device.id for loc in locations)
        stamps = [loc.timestamp for loc in locations]
        assert all(s is not None for s in stamps)
        assert stamps == sorted(stamps)  # type: ignore[type-var]
        assert device.last_seen is not None and stamps[-1] is not None
        assert stamps[-1] < device.last_seen
        assert all(55 < loc.latitude < 66 and 11 < loc.longitude < 24 for loc in locations)
        assert list(mdm.locations.list(device_id=devices[0].id)) == []

        one = mdm.devices.get(device.id)
        assert one == device


def test_ezmdm_writes(ez_sim: Callable[..., SimServer]) -> None:
    with _ez("writes", ez_sim) as mdm:
        group = mdm.groups.create(name=TRICKY)
        assert group.name == TRICKY and len(group.id) == 30
        renamed = mdm.groups.update(group.id, name=f"{TRICKY} (Göteborg)")
        assert renamed.name == f"{TRICKY} (Göteborg)"

        user = mdm.users.create(
            name="Åsa Öberg & Co = VD + ägare", group_id=group.id, email="asa.oberg@example.se"
        )
        assert (user.name, user.group_id, user.email, user.phone) == (
            "Åsa Öberg & Co = VD + ägare",
            group.id,
            "asa.oberg@example.se",
            None,
        )
        updated = mdm.users.update(user.id, phone="+46 70-123 45 67", name="Åsa Öberg")
        assert (updated.name, updated.phone, updated.email) == (
            "Åsa Öberg",
            "+46 70-123 45 67",
            "asa.oberg@example.se",
        )
        assert [u.id for u in mdm.users.list(group_id=group.id)] == [user.id]

        # A device moves to the new user, is renamed, and gets a push (refresh).
        device = next(iter(mdm.devices.list()))
        moved = mdm.devices.assign_user(device.id, user.id)
        assert moved.user_id == user.id
        assert [d.id for d in mdm.devices.list(user_id=user.id)] == [device.id]
        named = mdm.devices.rename(device.id, "Åsas iPhone & co")
        assert named.name == "Åsas iPhone & co"
        receipt = mdm.devices.refresh(device.id)
        assert (receipt.device_id, receipt.command.kind) == (
            device.id,
            mdmbridge.CommandKind.REFRESH,
        )


def test_ezmdm_errors(ez_sim: Callable[..., SimServer]) -> None:
    with _ez("errors", ez_sim) as mdm:
        users = list(mdm.users.list())
        user = users[0]
        with raises(mdmbridge.NotFound):
            mdm.groups.get("100000000000000000000000000001")  # well formed, unknown
        with raises(mdmbridge.NotFound):
            mdm.devices.get(user.id)  # a user id on the device endpoint lists devices
        with raises(mdmbridge.NotFound):
            mdm.users.get(user.group_id or "")  # a group id on the user endpoint, likewise
        with raises(mdmbridge.NotFound):
            list(mdm.devices.list(user_id=user.group_id or ""))  # not a user id
        with raises(mdmbridge.ValidationError):
            mdm.users.create(name="Okänd grupp", group_id="100000000000000000000000000001")
        with raises(mdmbridge.ValidationError):
            mdm.devices.get("../group")  # refused locally: no request is sent
        with raises(mdmbridge.UnsupportedOperation):
            mdm.devices.lock(user.id)  # ezmdm has no lock command: refused locally
        assert mdm.users.get(user.id) == user
