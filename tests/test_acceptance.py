"""One acceptance suite over every adapter, wherever the capability exists.

The same test runs against DuoSTATION and ezmdm through the public API; what an adapter
lacks must be refused locally (UnsupportedOperation, zero requests), never attempted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import mdmbridge
from mdmbridge import Capability as C
from mdmbridge.simulation import SimServer
from tests.backends import VENDORS, Backend, start_backend
from tests.support import raises

TRICKY = 'Åsa Öberg & Co = "100%" + a+b ?x=1#frag'


@pytest.fixture(params=VENDORS)
def backend(
    request: pytest.FixtureRequest,
    duo_sim: Callable[..., SimServer],
    ez_sim: Callable[..., SimServer],
) -> Backend:
    return start_backend(request.param, duo_sim, ez_sim, devices=30)


@pytest.fixture
def mdm(backend: Backend) -> mdmbridge.Client:
    return backend.connect()


def test_inventory_is_complete_and_tagged(backend: Backend, mdm: mdmbridge.Client) -> None:
    devices = list(mdm.devices.list())
    users = list(mdm.users.list())
    groups = list(mdm.groups.list())
    assert len(devices) == 30 and len(users) == 24 and groups
    for record in (*devices, *users, *groups):
        assert record.tenant == mdm.tenant and record.vendor == backend.vendor
        assert isinstance(record.id, str) and record.id
        assert record.raw  # the vendor payload, verbatim
    serials = {d.serial_number for d in devices}
    assert len(serials) == 30 and None not in serials
    assert {d.platform for d in devices} <= {mdmbridge.Platform.IOS, mdmbridge.Platform.ANDROID}
    assert all(d.last_seen is not None and d.last_seen.tzinfo is not None for d in devices)
    assert any(any(ch in (u.name or "") for ch in "åäöÅÄÖ") for u in users)


def test_get_matches_list(mdm: mdmbridge.Client) -> None:
    device = next(iter(mdm.devices.list()))
    assert mdm.devices.get(device.id) == device
    user = next(iter(mdm.users.list()))
    assert mdm.users.get(user.id) == user
    group = next(iter(mdm.groups.list()))
    assert mdm.groups.get(group.id).name == group.name


def test_missing_ids_are_not_found(backend: Backend, mdm: mdmbridge.Client) -> None:
    for kind, getter in (
        ("group", mdm.groups.get),
        ("user", mdm.users.get),
        ("device", mdm.devices.get),
    ):
        with raises(mdmbridge.NotFound):
            getter(backend.missing(kind))


def test_bad_credentials_are_auth_error(backend: Backend) -> None:
    with raises(mdmbridge.AuthError) as info:
        list(backend.connect(**backend.bad_credentials()).devices.list())
    assert info.value.vendor == backend.vendor


def test_group_create_update_roundtrip(mdm: mdmbridge.Client) -> None:
    group = mdm.groups.create(name=TRICKY)
    assert group.name == TRICKY and group.id
    renamed = mdm.groups.update(group.id, name=TRICKY + " II")
    assert renamed.id == group.id and renamed.name == TRICKY + " II"
    assert mdm.groups.get(group.id).name == TRICKY + " II"
    assert sum(1 for g in mdm.groups.list() if g.id == group.id) == 1


def test_user_create_update_and_group_listing(mdm: mdmbridge.Client) -> None:
    group = mdm.groups.create(name="Göteborg Fält")
    user = mdm.users.create(
        name=TRICKY, email="asa.oberg+test@example.se", phone="+46 70 123 45 67", group_id=group.id
    )
    assert (user.name, user.email, user.phone, user.group_id) == (
        TRICKY,
        "asa.oberg+test@example.se",
        "+46 70 123 45 67",
        group.id,
    )
    updated = mdm.users.update(user.id, email="ny@example.se")
    assert (
        updated.email == "ny@example.se"
        and updated.name == TRICKY
        and updated.phone == "+46 70 123 45 67"
    )
    assert [u.id for u in mdm.users.list(group_id=group.id)] == [user.id]


def test_assign_device_to_user(mdm: mdmbridge.Client) -> None:
    device = next(iter(mdm.devices.list()))
    user = mdm.users.create(name="Ny Ägare")
    assert mdm.devices.assign_user(device.id, user.id).user_id == user.id
    assert [d.id for d in mdm.devices.list(user_id=user.id)] == [device.id]


def test_refresh_command_reaches_the_device_once(backend: Backend, mdm: mdmbridge.Client) -> None:
    device = next(iter(mdm.devices.list()))
    receipt = mdm.devices.refresh(device.id)
    assert receipt.device_id == device.id and receipt.command.kind is mdmbridge.CommandKind.REFRESH
    assert len(backend.commands_seen()) == 1 and backend.commands_seen()[0][0] == device.id


def test_update_without_fields_is_refused_locally(backend: Backend, mdm: mdmbridge.Client) -> None:
    group = next(iter(mdm.groups.list()))
    backend.server.reset_counts()
    with raises(mdmbridge.ValidationError, match="nothing to update"):
        mdm.groups.update(group.id)
    assert backend.server.count() == 0


# Each capability with one representative call; an adapter without it must refuse locally.
PROBES: dict[C, Callable[[mdmbridge.Client, dict[str, str]], Any]] = {
    C.GROUPS_DELETE: lambda m, ids: m.groups.delete(ids["group"]),
    C.GROUPS_NESTED: lambda m, ids: m.groups.create(name="child", parent_id=ids["group"]),
    C.USERS_DELETE: lambda m, ids: m.users.delete(ids["user"]),
    C.DEVICES_RENAME: lambda m, ids: m.devices.rename(ids["device"], "Nytt namn"),
    C.DEVICE_LOCATIONS: lambda m, ids: list(m.locations.list(device_id=ids["device"])),
    C.TAGS_READ: lambda m, ids: list(m.tags.list()),
    C.TAGS_WRITE: lambda m, ids: m.tags.create(name="Kassa"),
    C.TAGS_DELETE: lambda m, ids: m.tags.delete("1"),
    C.DEVICE_TAGS: lambda m, ids: m.device_tags.link(device_id=ids["device"], tag_id="1"),
    C.USER_TAGS: lambda m, ids: list(m.user_tags.list()),
    C.GROUP_TAGS: lambda m, ids: m.group_tags.link(group_id="0", tag_id="1"),
    C.APPS_READ: lambda m, ids: list(m.apps.list()),
    C.APPS_WRITE: lambda m, ids: m.apps.upsert(
        name="A",
        company="B",
        package_id="se.a",
        version_text="1",
        platform="android",
        size=1,
        store="play",
        store_id="se.a",
        image_url="https://x.se/a.png",
    ),
    C.COMMAND_LOCK: lambda m, ids: m.devices.lock(ids["device"]),
    C.COMMAND_WIPE: lambda m, ids: m.devices.wipe(ids["device"]),
    C.COMMAND_CLEAR_PASSCODE: lambda m, ids: m.devices.clear_passcode(ids["device"]),
    C.COMMAND_SEND_MESSAGE: lambda m, ids: m.devices.send_message(ids["device"], "Hej"),
    C.COMMAND_INSTALL_APP: lambda m, ids: m.devices.install_app(ids["device"], "1"),
    C.COMMAND_REMOVE_APP: lambda m, ids: m.devices.remove_app(ids["device"], "se.a"),
}


@pytest.mark.parametrize("capability", list(PROBES), ids=lambda c: c.value)
def test_missing_capability_is_refused_locally(
    backend: Backend, mdm: mdmbridge.Client, capability: C
) -> None:
    if capability in mdm.capabilities:
        assert mdm.supports(capability)
        return  # covered by the vendor's own suite; here we prove the refusals
    ids = {
        "group": next(iter(mdm.groups.list())).id,
        "user": next(iter(mdm.users.list())).id,
        "device": next(iter(mdm.devices.list())).id,
    }
    backend.server.reset_counts()
    with raises(mdmbridge.UnsupportedOperation, match=backend.vendor):
        PROBES[capability](mdm, ids)
    assert backend.server.count() == 0


def test_every_capability_has_a_probe_or_an_acceptance_test() -> None:
    covered = set(PROBES) | {
        C.GROUPS_READ,
        C.GROUPS_WRITE,
        C.USERS_READ,
        C.USERS_WRITE,
        C.DEVICES_READ,
        C.DEVICES_ASSIGN_USER,
        C.COMMAND_REFRESH,
    }
    assert covered == set(C)


def test_every_filter_works_on_every_backend(backend: Backend, mdm: mdmbridge.Client) -> None:
    """Where the vendor cannot filter (ezmdm: users by email, devices by serial_number), the
    client filters the listing: exactly the records whose value matches, case aside."""
    users = list(mdm.users.list())
    devices = list(mdm.devices.list())
    user, device = users[3], devices[4]
    assert user.email and device.serial_number
    by_email = list(mdm.users.list(email=f" {user.email.upper()} "))
    assert by_email == [u for u in users if (u.email or "").casefold() == user.email.casefold()]
    by_serial = list(mdm.devices.list(serial_number=device.serial_number.lower()))
    assert by_serial == [device]
    assert list(mdm.devices.list(serial_number="NO-SUCH-SERIAL")) == []
    if backend.vendor == "ezmdm":
        assert "email" not in mdm.adapter.list_filters["users"]  # applied by the client
    else:
        assert set(mdm.adapter.list_filters["users"]) >= {
            "email",
            "phone",
            "account",
            "group_id",
            "tag_id",
        }


def test_adapters_matrix() -> None:
    matrix = mdmbridge.adapters()
    assert set(matrix) >= {"duostation", "ezmdm"}
    assert C.COMMAND_WIPE in matrix["duostation"].capabilities
    assert C.COMMAND_WIPE not in matrix["ezmdm"].capabilities
    assert C.DEVICE_LOCATIONS in matrix["ezmdm"].capabilities
    assert C.DEVICE_LOCATIONS not in matrix["duostation"].capabilities
