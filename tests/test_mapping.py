"""Vendor payload -> core model, on small JSON fixtures. No HTTP."""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mdmbridge_duostation import mapping as duo
from mdmbridge_ezmdm import mapping as ez

import mdmbridge
from mdmbridge.mapping import (
    Converter,
    F,
    FieldTable,
    build,
    ident,
    integer,
    number,
    parent_ref,
    platform,
    text,
    timestamp,
)
from mdmbridge.models import (
    App,
    AppStore,
    Device,
    Group,
    Location,
    Platform,
    Record,
    Tag,
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


# Hostile values: every vendor answer ends in a record or a MalformedResponse, never a raw
# exception, and the message is one short line whatever the value.

TAG_LINK_PAYLOADS = {
    "device tag": load("duostation/devicetag.json"),
    "user tag": {"Id": 4, "UserId": 7, "TagId": 2, "UserName": "Åsa Öberg"},
    "group tag": {"Id": 6, "GroupId": 0, "TagId": 2, "GroupName": "All"},
}
TABLES: list[tuple[str, type[Record], FieldTable, dict[str, Any], dict[str, Any] | None]] = [
    ("duostation", Group, duo.GROUP, load("duostation/group.json"), None),
    ("duostation", User, duo.USER, load("duostation/user.json"), None),
    ("duostation", Device, duo.DEVICE, load("duostation/device.json"), None),
    (
        "duostation",
        Tag,
        duo.TAG,
        {"Id": 2, "Name": "Kassa", "Description": None, "GroupId": 12},
        None,
    ),
    (
        "duostation",
        TagLink,
        duo.DEVICE_TAG,
        TAG_LINK_PAYLOADS["device tag"],
        {"target": TagTarget.DEVICE},
    ),
    (
        "duostation",
        TagLink,
        duo.USER_TAG,
        TAG_LINK_PAYLOADS["user tag"],
        {"target": TagTarget.USER},
    ),
    (
        "duostation",
        TagLink,
        duo.GROUP_TAG,
        TAG_LINK_PAYLOADS["group tag"],
        {"target": TagTarget.GROUP},
    ),
    ("duostation", App, duo.APP, load("duostation/app.json"), None),
    ("ezmdm", Group, ez.GROUP, {"id": "523456789012345678901234567890", "name": "Göteborg"}, None),
    ("ezmdm", User, ez.USER, load("ezmdm/user.json"), None),
    ("ezmdm", Device, ez.DEVICE, load("ezmdm/device.json"), None),
    ("ezmdm", Location, ez.LOCATION, load("ezmdm/location.json"), None),
]
HUGE = 10**5000  # repr() and str() of it raise ValueError (Python's int digit limit)
HOSTILE = {
    "inf": float("inf"),
    "-inf": float("-inf"),
    "nan": float("nan"),
    "1e400": json.loads("1e400"),  # what the JSON parser makes of it: inf
    "5000 digits": HUGE,
}
# Fields whose converter takes a vendor's numbers (ids, references, counts, enum codes).
NUMERIC = {
    (vendor, table.entity, name)
    for vendor, _, table, _, _ in TABLES
    for name, spec in table.fields.items()
    if spec.convert in {ident, parent_ref, integer, number, duo.duo_platform, duo.duo_store}
}


def every_field() -> list[Any]:
    return [
        pytest.param(
            vendor,
            model,
            table,
            payload,
            extra,
            name,
            spec.keys[0],
            id=f"{vendor}-{table.entity}-{name}",
        )
        for vendor, model, table, payload, extra in TABLES
        for name, spec in table.fields.items()
    ]


def check_one_short_line(error: mdmbridge.MalformedResponse) -> str:
    text = str(error)
    assert "\n" not in text and len(text) < 400, text
    return text


def test_the_numeric_field_list_covers_both_vendors() -> None:
    assert ("duostation", "device", "battery_level") in NUMERIC
    assert ("ezmdm", "device", "battery_level") in NUMERIC
    assert ("duostation", "app", "store") in NUMERIC and ("duostation", "app", "size") in NUMERIC
    assert ("ezmdm", "device location", "latitude") in NUMERIC
    assert ("ezmdm", "device", "platform") not in NUMERIC  # a free-text name there
    assert len(NUMERIC) >= 30  # every id and reference too


@pytest.mark.parametrize(
    ("vendor", "model", "table", "payload", "extra", "name", "key"), every_field()
)
@pytest.mark.parametrize("hostile", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_number_in_any_field_is_malformed_response_or_unknown(
    vendor: str,
    model: type[Record],
    table: FieldTable,
    payload: dict[str, Any],
    extra: dict[str, Any] | None,
    name: str,
    key: str,
    hostile: str,
) -> None:
    """Numbers no field can hold are refused in every field (text fields too: ``inf`` is no
    name); only a free-text platform name degrades to UNKNOWN, as any unknown name does."""
    bad = {k: v for k, v in payload.items() if k.lower() != key.lower()} | {key: HOSTILE[hostile]}
    if name == "platform" and table.fields[name].convert is platform:
        record = build(model, table, bad, tenant="t", vendor=vendor, extra=extra)
        assert record.platform is Platform.UNKNOWN  # type: ignore[attr-defined]
        return
    with pytest.raises(mdmbridge.MalformedResponse) as info:
        build(model, table, bad, tenant="t", vendor=vendor, extra=extra)
    text = check_one_short_line(info.value)
    assert text.startswith(f"[{vendor}:t] {table.entity} ")
    assert f"field {name} ({key}=" in text
    assert "0000000000" not in text  # the 5000 digits are never written out


@pytest.mark.parametrize(
    ("vendor", "model", "table", "payload", "extra", "name", "key"),
    [p for p in every_field() if (p.values[0], p.values[2].entity, p.values[5]) in NUMERIC],
)
@pytest.mark.parametrize(
    "value", ["1e400", "inf", "NaN", "9" * 5000, "\uff11\uff12", True, [1], {"n": 1}]
)
def test_numeric_fields_refuse_texts_and_shapes_no_number_reads_as(
    vendor: str,
    model: type[Record],
    table: FieldTable,
    payload: dict[str, Any],
    extra: dict[str, Any] | None,
    name: str,
    key: str,
    value: Any,
) -> None:
    bad = {k: v for k, v in payload.items() if k.lower() != key.lower()} | {key: value}
    try:
        record = build(model, table, bad, tenant="t", vendor=vendor, extra=extra)
    except mdmbridge.MalformedResponse as exc:
        text = check_one_short_line(exc)
        assert f"field {name} ({key}=" in text or f"{name}:" in text
        return
    # What may pass: an id or enum code given as text ("1e400" is a fine opaque id, an
    # unknown platform or store name is UNKNOWN); never a number made of it.
    got = getattr(record, name)
    assert isinstance(got, (str, enum.Enum)), (name, got)
    assert table.fields[name].convert in {ident, parent_ref, duo.duo_platform}


@pytest.mark.parametrize("convert", [integer, number, ident, text, timestamp])
def test_converters_raise_only_value_error(convert: Converter) -> None:
    deep: list[Any] = []
    for _ in range(50_000):
        deep = [deep]
    for value in [
        *HOSTILE.values(),
        -HUGE,
        Decimal("1e999999999"),
        Decimal("NaN"),
        Decimal("sNaN"),
        deep,
        {"a": deep},
        object(),
    ]:
        try:
            convert(value)
        except ValueError as exc:
            assert len(str(exc)) < 200
    assert integer(88.0) == 88 and integer(" 42 ") == 42 and integer(2**63 - 1) == 2**63 - 1
    with pytest.raises(ValueError, match="64 bits"):
        integer(2**63)


def test_integer_refuses_fractions_instead_of_truncating() -> None:
    with pytest.raises(ValueError, match=r"expected an integer, got 88\.5"):
        integer(88.5)


def test_duostation_platform_and_store_codes() -> None:
    assert duo.duo_platform(1) is Platform.ANDROID and duo.duo_platform(" 2 ") is Platform.MACOS
    assert (
        duo.duo_platform(99) is Platform.UNKNOWN and duo.duo_platform("\uff11") is Platform.UNKNOWN
    )
    assert (
        duo.duo_platform("Android") is Platform.ANDROID
        and duo.duo_platform(None) is Platform.UNKNOWN
    )
    assert duo.duo_store(7) is AppStore.UNKNOWN and duo.duo_store("1") is AppStore.PLAY
    for value in (float("inf"), float("nan"), HUGE, 2**64):
        with pytest.raises(ValueError):
            duo.duo_platform(value)
        with pytest.raises(ValueError):
            duo.duo_store(value)


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        (HUGE, "<an integer of 16610 bits>"),
        ("x" * 100_000, "'xxxxxxxx"),
        ([[[[[["deep"]]]]]], "[[[[...]]]]"),
    ],
    ids=["5000-digit int", "long text", "nested"],
)
def test_a_hostile_id_is_excerpted_not_quoted(ref: Any, shown: str) -> None:
    payload = load("duostation/device.json") | {"Id": ref, "BatteryLevel": float("inf")}
    with pytest.raises(mdmbridge.MalformedResponse) as info:
        build(Device, duo.DEVICE, payload, tenant="t", vendor="duostation")
    text = check_one_short_line(info.value)
    assert text.startswith(f"[duostation:t] device {shown}")


def test_a_hostile_id_in_a_record_failing_elsewhere() -> None:
    payload = load("ezmdm/device.json") | {"id": "7" * 100_000, "batteryLevel": float("inf")}
    with pytest.raises(mdmbridge.MalformedResponse) as info:
        build(Device, ez.DEVICE, payload, tenant="t", vendor="ezmdm")
    text = check_one_short_line(info.value)
    assert text.startswith("[ezmdm:t] device '7777")
    assert text.endswith("field battery_level (batteryLevel=inf): not a finite number")


def test_any_exception_from_a_converter_becomes_malformed_response() -> None:
    def broken(value: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    table = FieldTable("group", {"id": F("Id", convert=ident), "name": F("Name", convert=broken)})
    with pytest.raises(
        mdmbridge.MalformedResponse,
        match=r"group 1: .*field name \(Name='G'\): RecursionError: maximum recursion",
    ):
        build(Group, table, {"Id": 1, "Name": "G"}, tenant="t", vendor="v")
