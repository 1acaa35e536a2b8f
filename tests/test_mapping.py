"""Vendor payload -> core model, on small JSON fixtures. No HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mdmbridge_duostation import mapping as duo
from mdmbridge_ezmdm import mapping as ez

import mdmbridge
from mdmbridge.mapping import build
from mdmbridge.models import (
    App,
    AppStore,
    Device,
    Group,
    Location,
    Platform,
    TagLink,
    TagTarget,
    User,
)

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def test_duostation_group_reads_pascal_case_and_keeps_unknown_fields() -> None:
    payload = load("duostation/group.json")
    group = build(Group, duo.GROUP, payload, tenant="acme", vendor="duostation")
    assert (group.id, group.name, group.parent_id, group.path) == (
        "12",
        "Company Inc",
        "3",
        "Customers/Company Inc",
    )
    assert group.number == "4711" and group.notes == "Rad ett\nRad två"
    assert group.lost_mode_footnote == "Ångström AB"  # the prose's spelling, read too
    assert group.raw == payload and group.raw["Policies"] == [1, 2]


def test_duostation_root_group_has_no_parent_and_optional_fields_are_none() -> None:
    group = build(
        Group,
        duo.GROUP,
        load("duostation/group_root_minimal.json"),
        tenant="t",
        vendor="duostation",
    )
    assert group.parent_id is None and group.number is None and group.lost_mode_message is None


def test_duostation_user() -> None:
    user = build(User, duo.USER, load("duostation/user.json"), tenant="t", vendor="duostation")
    assert (user.phone, user.account, user.account_group, user.group_id) == (
        "+46701234567",
        "asa.oberg",
        "ad.example.se",
        "12",
    )
    assert user.raw["LastLogin"] == "2026-10-01T08:00:00"


def test_duostation_device() -> None:
    device = build(
        Device, duo.DEVICE, load("duostation/device.json"), tenant="t", vendor="duostation"
    )
    assert device.id == "0b8e3c8e-9d1e-4a50-bb6c-2f1b8a1c5e77" and device.platform is Platform.IOS
    assert device.last_seen == datetime(2026, 10, 25, 19, 29, tzinfo=UTC)
    assert (device.user_id, device.group_id, device.battery_level) == ("7", "12", 88)


def test_duostation_device_any_key_case_numeric_platform_naive_time() -> None:
    device = build(
        Device,
        duo.DEVICE,
        load("duostation/device_numeric_platform.json"),
        tenant="t",
        vendor="duostation",
    )
    assert device.serial_number == "R58M12ABCDE" and device.platform is Platform.ANDROID
    assert device.user_id is None  # 0 means "no user"
    assert device.last_seen is not None and device.last_seen.tzinfo is UTC
    assert device.battery_level is None and device.model is None


def test_duostation_app_and_tag_link() -> None:
    app = build(App, duo.APP, load("duostation/app.json"), tenant="t", vendor="duostation")
    assert (app.platform, app.store, app.size, app.has_image_data) == (
        Platform.ANDROID,
        AppStore.PLAY,
        1048576,
        True,
    )
    link = build(
        TagLink,
        duo.DEVICE_TAG,
        load("duostation/devicetag.json"),
        tenant="t",
        vendor="duostation",
        extra={"target": TagTarget.DEVICE},
    )
    assert (link.id, link.tag_id, link.target_id, link.target_label) == (
        "5",
        "2",
        link.raw["DeviceId"],
        "F2LXK3ABHG7F",
    )


def test_ezmdm_device_user_location() -> None:
    device = build(Device, ez.DEVICE, load("ezmdm/device.json"), tenant="t", vendor="ezmdm")
    assert device.platform is Platform.IOS and device.name == "Bob's iPhone" and device.imei is None
    assert device.raw["managed"] is True
    user = build(User, ez.USER, load("ezmdm/user.json"), tenant="t", vendor="ezmdm")
    assert (user.id, user.group_id, user.phone) == (
        "223456789012345678901234567890",
        "323456789012345678901234567890",
        "+46709876543",
    )
    location = build(Location, ez.LOCATION, load("ezmdm/location.json"), tenant="t", vendor="ezmdm")
    assert (location.latitude, location.longitude, location.accuracy) == (57.7089, 11.9746, 12.5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"BatteryLevel": 140}, "battery_level"),
        ({"BatteryLevel": "full"}, "battery_level"),
        ({"LastSeen": "yesterday"}, "last_seen"),
        ({"Id": None}, "id"),
        ({"UserId": True}, "user_id"),
    ],
)
def test_unreadable_values_are_malformed_response_naming_the_field(
    change: dict[str, Any], message: str
) -> None:
    payload = load("duostation/device.json") | change
    with pytest.raises(mdmbridge.MalformedResponse, match=message) as info:
        build(Device, duo.DEVICE, payload, tenant="t", vendor="duostation")
    assert "\n" not in str(info.value)


def test_non_object_payload_is_malformed_response() -> None:
    with pytest.raises(mdmbridge.MalformedResponse, match="expected a device object, got list"):
        build(Device, duo.DEVICE, [1, 2], tenant="t", vendor="duostation")


def test_models_are_strict_and_frozen() -> None:
    group = Group(tenant="t", vendor="v", id="1", name="G")
    with pytest.raises(Exception, match="frozen"):
        group.name = "H"  # type: ignore[misc]
    with pytest.raises(Exception, match="Extra inputs"):
        Group(tenant="t", vendor="v", id="1", name="G", colour="blå")  # type: ignore[call-arg]
    with pytest.raises(Exception, match="timezone"):
        Device(tenant="t", vendor="v", id="1", last_seen=datetime(2026, 1, 1))  # naive: refused


def test_enums_fall_back_to_unknown() -> None:
    assert Platform("visionos") is Platform.UNKNOWN
    assert Platform("IOS") is Platform.IOS
    assert AppStore("galaxy_store") is AppStore.UNKNOWN


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "send_message"}, "send_message needs message"),
        ({"kind": "send_message", "message": "   "}, "send_message needs message"),
        ({"kind": "wipe", "message": "bye"}, "wipe takes no message"),
        ({"kind": "install_app"}, "install_app needs app_id"),
        ({"kind": "remove_app", "app_id": "3"}, "remove_app takes no app_id"),
        ({"kind": "format_disk"}, "kind"),
    ],
)
def test_commands_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        mdmbridge.Command(**kwargs)


def test_command_helpers() -> None:
    assert mdmbridge.Command.install_app(12, vpp=True).model_dump(exclude_none=True) == {
        "kind": mdmbridge.CommandKind.INSTALL_APP,
        "app_id": "12",
        "vpp": True,
    }
    assert (
        mdmbridge.Command.wipe().kind.destructive and not mdmbridge.Command.lock().kind.destructive
    )


def test_error_str_is_one_line_and_repr_is_structured() -> None:
    error = mdmbridge.NotFound(
        "user 7 not found", vendor="duostation", tenant="acme", status=404, body="x\n" * 300
    )
    assert str(error) == "[duostation:acme] user 7 not found (HTTP 404)"
    assert repr(error).startswith("NotFound(message='user 7 not found', vendor='duostation'")
    assert error.body is not None and len(error.body) <= 200 and "\n" not in error.body
