"""The ``--where`` mini-language (mdmbridge/where.py): parsing, each kind of field, the
None rule, errors that name the field, and version comparison as a property."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdmbridge.errors import ValidationError
from mdmbridge.models import App, Device, Group, Platform, User
from mdmbridge.where import (
    OPERATORS,
    Where,
    WhereError,
    field_kinds,
    parse_duration,
    parse_version,
    parse_where,
    parse_where_for,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def device(**values: Any) -> Device:
    return Device(tenant="t", vendor="v", id=values.pop("id", "d1"), **values)


def holds(expr: str | list[str], record: Any, entity: str = "devices") -> bool:
    return parse_where([expr] if isinstance(expr, str) else expr, entity, now=NOW)(record)


# ---------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("version", "expected"),
    [("17.3.1", True), ("17.10", False), ("17.4", False), ("17.4.0", False), ("16", True)],
)
def test_os_version_compares_as_a_version(version: str, expected: bool) -> None:
    assert holds("os_version<17.4", device(os_version=version)) is expected


def test_version_forms() -> None:
    assert parse_version("17.4.1 (21E237)") == (17, 4, 1)
    assert parse_version("v14-beta") == (14,)
    assert parse_version("17.0.0") == (17,)
    assert parse_version("Android") is None and parse_version(None) is None
    assert holds("os_version=17.4", device(os_version="17.4.0"))
    assert holds("os_version>=17.4", device(os_version="17.4.1 (21E237)"))
    assert not holds("os_version<99", device(os_version="unknown"))  # not a version: no match
    assert holds("os_version~21e2", device(os_version="17.4.1 (21E237)"))  # ~ is text
    assert holds(
        "version_text>2.9",
        App(tenant="t", vendor="v", id="a", name="A", package_id="p", version_text="2.10"),
        "apps",
    )


def _dotted(numbers: list[int]) -> str:
    return ".".join(str(n) for n in numbers)


def _key(numbers: list[int]) -> tuple[int, ...]:
    trimmed = list(numbers)
    while len(trimmed) > 1 and trimmed[-1] == 0:
        trimmed.pop()
    return tuple(trimmed)


VERSIONS = st.lists(st.integers(0, 30), min_size=1, max_size=4)


@given(VERSIONS, VERSIONS)
def test_version_order_is_number_by_number(have: list[int], want: list[int]) -> None:
    record = device(os_version=_dotted(have))
    expected = {
        "<": _key(have) < _key(want),
        "<=": _key(have) <= _key(want),
        ">": _key(have) > _key(want),
        ">=": _key(have) >= _key(want),
        "=": _key(have) == _key(want),
        "!=": _key(have) != _key(want),
    }
    for op, result in expected.items():
        assert holds(f"os_version{op}{_dotted(want)}", record) is result, (have, op, want)


@given(VERSIONS, VERSIONS, VERSIONS)
def test_version_order_is_transitive_and_total(a: list[int], b: list[int], c: list[int]) -> None:
    def less(x: list[int], y: list[int]) -> bool:
        return holds(f"os_version<{_dotted(y)}", device(os_version=_dotted(x)))

    assert sum([less(a, b), less(b, a), _key(a) == _key(b)]) == 1  # exactly one
    if less(a, b) and less(b, c):
        assert less(a, c)


@given(VERSIONS, st.integers(0, 3))
def test_trailing_zeros_do_not_matter(numbers: list[int], zeros: int) -> None:
    padded = _dotted(numbers + [0] * zeros)
    assert holds(f"os_version={_dotted(numbers)}", device(os_version=padded))


# ---------------------------------------------------------------------------- timestamps


def test_durations_mean_that_long_ago() -> None:
    old, recent = (
        device(last_seen=NOW - timedelta(days=31)),
        device(last_seen=NOW - timedelta(days=2)),
    )
    assert holds("last_seen<30d", old) and not holds("last_seen<30d", recent)
    assert holds("last_seen>7d", recent) and not holds("last_seen>7d", old)
    assert holds("last_seen>=49h", recent) and not holds("last_seen>=47h", recent)
    assert holds("last_seen<1w", recent) is False
    for unit, seconds in (("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)):
        assert parse_duration(f"2{unit}") == timedelta(seconds=2 * seconds)
    assert parse_duration("1.5d") == timedelta(hours=36)
    assert parse_duration("30") is None and parse_duration("d") is None


def test_dates_are_whole_days_in_utc() -> None:
    morning = device(last_seen=datetime(2024, 5, 1, 0, 30, tzinfo=UTC))
    evening = device(last_seen=datetime(2024, 5, 1, 23, 59, tzinfo=UTC))
    before = device(last_seen=datetime(2024, 4, 30, 23, 59, tzinfo=UTC))
    for record in (morning, evening):
        assert holds("last_seen=2024-05-01", record)
        assert holds("last_seen<=2024-05-01", record) and holds("last_seen>=2024-05-01", record)
        assert not holds("last_seen<2024-05-01", record) and not holds(
            "last_seen>2024-05-01", record
        )
    assert holds("last_seen<2024-05-01", before) and holds("last_seen!=2024-05-01", before)
    assert holds("last_seen>2024-04-30", morning)


def test_times_compare_as_instants() -> None:
    seen = device(last_seen=datetime(2024, 5, 1, 8, 0, tzinfo=UTC))
    assert holds("last_seen=2024-05-01T08:00:00Z", seen)
    assert holds("last_seen=2024-05-01T10:00+02:00", seen)
    assert holds("last_seen=2024-05-01 08:00", seen)  # no zone: UTC
    assert holds("last_seen<2024-05-01T08:00:01Z", seen)
    assert not holds("last_seen>2024-05-01T08:00Z", seen)


def test_now_is_fixed_when_parsed() -> None:
    where = parse_where(["last_seen<1d"], "devices", now=NOW)
    assert where(device(last_seen=NOW - timedelta(days=1, seconds=1)))
    assert not where(device(last_seen=NOW - timedelta(hours=23)))
    live = parse_where(["last_seen>1h"], "devices")  # the real clock
    assert live(device(last_seen=datetime.now(UTC)))


# ---------------------------------------------------------------------------- other kinds


def test_text_is_case_insensitive_ids_are_exact() -> None:
    record = device(name="Annas iPad", serial_number="C02XK3ABHG7F", user_id="Ab12")
    assert holds("name=annas ipad", record) and holds("name= Annas iPad ", record)
    assert holds("serial_number=c02xk3abhg7f", record)
    assert holds("name~IPAD", record) and not holds("name~android", record)
    assert holds("user_id=Ab12", record) and not holds("user_id=ab12", record)
    assert holds("name>annas", record) and holds("name<b", record)
    assert holds("Serial-Number=C02XK3ABHG7F", record)  # field names: any case, - or _


def test_enums_by_value() -> None:
    phone = device(platform=Platform.IOS)
    assert holds("platform=ios", phone) and holds("platform=IOS", phone)
    assert holds("platform!=android", phone) and not holds("platform=android", phone)
    assert holds("platform=unknown", device())
    assert holds("platform~io", phone)


def test_numbers_and_booleans() -> None:
    low = device(battery_level=15)
    assert holds("battery_level<=20", low) and holds("battery_level>14.5", low)
    assert not holds("battery_level=20", low)
    app = App(tenant="t", vendor="v", id="a", name="A", package_id="p", has_image_data=True)
    assert holds("has_image_data=yes", app, "apps") and holds("has_image_data!=false", app, "apps")
    assert holds("size=", app, "apps")


def test_none_never_matches_but_empty_does() -> None:
    blank = device(name="   ")
    unassigned = device()
    assert not holds("user_id!=42", unassigned)  # None satisfies no comparison, != included
    assert not holds("os_version<99", unassigned) and not holds("name~a", unassigned)
    assert holds("user_id=", unassigned) and not holds("user_id!=", unassigned)
    assert holds("name=", blank) and holds("name=", unassigned)
    assert holds("last_seen=", unassigned) and not holds("last_seen<1d", unassigned)
    assert holds("user_id!=", device(user_id="7"))


def test_expressions_combine_all_must_hold() -> None:
    record = device(platform=Platform.IOS, os_version="17.3")
    assert holds(["platform=ios", "os_version<17.4"], record)
    assert not holds(["platform=ios", "os_version<17"], record)
    assert parse_where([], "devices", now=NOW)(record)  # nothing asked: everything holds
    assert parse_where([], "devices").matches_all
    where = parse_where(["platform=ios", "os_version<17.4"], "devices")
    assert where.fields == ("platform", "os_version")
    assert str(where) == "platform=ios and os_version<17.4"


def test_a_where_is_a_picklable_value() -> None:
    where = parse_where(["last_seen<30d", "platform=ios", "os_version<17.4"], "devices", now=NOW)
    copy = pickle.loads(pickle.dumps(where))
    assert copy == where
    record = device(platform="ios", os_version="17", last_seen=NOW - timedelta(days=40))
    assert copy(record) and where(record)


def test_fields_come_from_the_registry_models() -> None:
    kinds = field_kinds("devices")
    assert set(kinds) == set(Device.model_fields) - {"raw"}
    assert kinds["os_version"] == "version" and kinds["last_seen"] == "timestamp"
    assert kinds["platform"] == "enum" and kinds["user_id"] == "id"
    assert kinds["battery_level"] == "number" and kinds["name"] == "text"
    assert set(field_kinds("users")) == set(User.model_fields) - {"raw"}
    assert "path" in field_kinds("groups") and "raw" not in field_kinds("groups")


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("colour=red", ["'colour'", "devices have no field", "serial_number", "os_version"]),
        ("os_version==17", ["unknown operator '=='", *OPERATORS]),
        ("name=>x", ["unknown operator '=>'"]),
        ("platform", ["expected FIELD OP VALUE"]),
        ("last seen<3d", ["expected FIELD OP VALUE"]),
        ("platform<ios", ["platform", "=, !="]),
        ("platform=nokia", ["platform", "'nokia'", "ios", "android"]),
        ("battery_level>lots", ["battery_level", "number", "'lots'"]),
        ("os_version<seventeen", ["os_version", "version"]),
        ("last_seen<yesterday", ["last_seen", "ISO", "30d"]),
        ("last_seen=30d", ["last_seen", "duration"]),
        ("last_seen<2024-13-01", ["last_seen", "ISO"]),
        ("os_version<", ["os_version", "needs a value"]),
        ("groups.name=x", ["about groups, not devices"]),
        ("nowhere.name=x", ["'nowhere' is not an entity"]),
    ],
)
def test_mistakes_are_usage_errors_naming_the_field(expr: str, words: list[str]) -> None:
    with pytest.raises(WhereError) as info:
        parse_where([expr], "devices")
    message = str(info.value)
    assert isinstance(info.value, ValidationError)  # the CLI's exit 2
    assert "\n" not in message and repr(expr.strip()) in message
    for word in words:
        assert word in message, (word, message)


def test_unknown_entity() -> None:
    with pytest.raises(WhereError, match="unknown entity 'gadgets'"):
        parse_where(["name=x"], "gadgets")


def test_an_expression_may_name_its_entity() -> None:
    assert holds("devices.platform=ios", device(platform="ios"))
    assert holds("device.platform=ios", device(platform="ios"))


def test_where_for_several_entities() -> None:
    chosen = parse_where_for(["name~berg", "devices.os_version<17"], ["devices", "users", "groups"])
    assert set(chosen) == {"devices", "users", "groups"}
    assert chosen["devices"].fields == ("name", "os_version")
    assert chosen["users"].fields == ("name",) and chosen["groups"].fields == ("name",)
    group = Group(tenant="t", vendor="v", id="g", name="Ekberga")
    assert chosen["groups"](group)
    with pytest.raises(WhereError) as info:
        parse_where_for(["os_version<17"], ["devices", "users"])
    assert "users have no field 'os_version'" in str(info.value)
    assert "devices.os_version<17" in str(info.value)
    with pytest.raises(WhereError, match="groups are not among"):
        parse_where_for(["groups.name=x"], ["devices"])
    with pytest.raises(WhereError, match="devices have no field 'colour'"):
        parse_where_for(["colour=red"], ["devices", "users"])
    assert parse_where_for([], ["devices"]) == {"devices": Where("devices")}
