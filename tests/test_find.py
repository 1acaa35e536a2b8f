"""``mdmbridge find``, ``export --where``, ``adapters`` filter sides, and the client's local
filters (every registry filter on every adapter), against live simulators."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import mdmbridge
from mdmbridge.config import CONFIG_ENV
from mdmbridge.entities import ENTITIES
from mdmbridge.local_filters import RULES
from mdmbridge.simulation import SimServer
from mdmbridge.where import parse_where
from tests.conftest import connect_duo, connect_ez
from tests.support import DUO_PASSWORD, EZ_KEY
from tests.test_cli import (
    Factory,
    assert_no_secrets,
    assert_one_line_error,
    duo_tenant,
    ez_tenant,
    run,
    write_config,
)

BACKSLASH = " \\ "  # DuoSTATION takes either separator, spaces around names ignored
SEED = 21  # both simulators from one seed: the same serials, e-mails and names


@pytest.fixture
def fleet(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SimServer, SimServer, Path]]:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    duo, ez = duo_sim(devices=25, seed=SEED), ez_sim(devices=25, seed=SEED)
    config = write_config(
        tmp_path / "tenants.toml",
        {
            "acme-duo": duo_tenant(duo, labels=["eu"]),
            "acme-ez": ez_tenant(ez, labels=["eu"]),
        },
    )
    yield duo, ez, config


def listed(server: SimServer, vendor: str, entity: str) -> list[Any]:
    connect = connect_duo if vendor == "duostation" else connect_ez
    with connect(server) as client:
        return list(getattr(client, entity).list())


def find(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, Any, str]:
    code, out, err = run(capsys, "--config", str(config), "find", *args, "--format", "json")
    return code, json.loads(out) if out.strip() else None, err


# ---------------------------------------------------------------------------- find


def test_find_by_serial_across_vendors(
    capsys: pytest.CaptureFixture[str], fleet: tuple[SimServer, SimServer, Path]
) -> None:
    duo, ez, config = fleet
    duo_devices = listed(duo, "duostation", "devices")
    ez_devices = listed(ez, "ezmdm", "devices")
    shared = {d.serial_number for d in duo_devices} & {d.serial_number for d in ez_devices}
    serial = sorted(shared)[3]
    code, rows, err = find(capsys, config, "--serial", f" {serial.lower()} ")
    assert code == 0, err
    assert [(r["tenant"], r["vendor"], r["serial_number"]) for r in rows] == [
        ("acme-duo", "duostation", serial),
        ("acme-ez", "ezmdm", serial),
    ]
    assert rows[0]["id"] == next(d.id for d in duo_devices if d.serial_number == serial)
    assert rows[1]["id"] == next(d.id for d in ez_devices if d.serial_number == serial)
    assert "raw" not in rows[0]
    assert duo.writes() == 0 and ez.writes() == 0
    assert "2 devices found in 2 of 2 tenants" in err

    code, rows, err = find(capsys, config, "--serial", "NO-SUCH-SERIAL")
    assert code == 0 and rows == [], err


def test_find_by_email_means_users(
    capsys: pytest.CaptureFixture[str], fleet: tuple[SimServer, SimServer, Path]
) -> None:
    _, ez, config = fleet
    user = listed(ez, "ezmdm", "users")[5]
    code, rows, err = find(capsys, config, "--email", user.email.upper())
    assert code == 0, err
    assert {(r["tenant"], r["email"]) for r in rows} == {
        ("acme-duo", user.email),
        ("acme-ez", user.email),
    }
    assert all("serial_number" not in r for r in rows)  # user columns


def test_find_by_name_substring_any_case(
    capsys: pytest.CaptureFixture[str], fleet: tuple[SimServer, SimServer, Path]
) -> None:
    duo, ez, config = fleet
    groups = {
        "acme-duo": listed(duo, "duostation", "groups"),
        "acme-ez": listed(ez, "ezmdm", "groups"),
    }
    code, rows, err = find(capsys, config, "--name", "LAGER", "--entity", "groups")
    assert code == 0, err
    expected = [
        (tenant, g.id)
        for tenant, found in groups.items()
        for g in found
        if "lager" in g.name.lower()
    ]
    assert expected and [(r["tenant"], r["id"]) for r in rows] == expected


def test_find_where_all_must_hold(
    capsys: pytest.CaptureFixture[str], fleet: tuple[SimServer, SimServer, Path]
) -> None:
    duo, ez, config = fleet
    everything = [*listed(duo, "duostation", "devices"), *listed(ez, "ezmdm", "devices")]
    exprs = ["platform=ios", "os_version<17.4", "battery_level>=10"]
    where = parse_where(exprs, "devices")
    expected = [(d.tenant, d.id) for d in everything if where(d)]
    args = [arg for expr in exprs for arg in ("--where", expr)]
    code, rows, err = find(capsys, config, *args)
    assert code == 0, err
    tenants = {"duo-test": "acme-duo", "ez-test": "acme-ez"}
    assert [(r["tenant"], r["id"]) for r in rows] == [(tenants[t], i) for t, i in expected]
    assert expected  # the seed has some
    for row in rows:
        assert row["platform"] == "ios" and row["battery_level"] >= 10


def test_find_where_and_serial_combine(
    capsys: pytest.CaptureFixture[str], fleet: tuple[SimServer, SimServer, Path]
) -> None:
    duo, _, config = fleet
    device = listed(duo, "duostation", "devices")[0]
    other = "android" if device.platform.value == "ios" else "ios"
    code, rows, _ = find(
        capsys, config, "--serial", device.serial_number, "--where", f"platform={other}"
    )
    assert code == 0 and rows == []
    code, rows, _ = find(
        capsys,
        config,
        "--serial",
        device.serial_number,
        "-t",
        "acme-duo",
        "--where",
        f"platform!={other}",
    )
    assert code == 0 and [r["id"] for r in rows] == [device.id]


@pytest.mark.parametrize("fmt", ["table", "jsonl", "csv"])
def test_find_formats_name_tenant_and_vendor(
    capsys: pytest.CaptureFixture[str], fleet: tuple[SimServer, SimServer, Path], fmt: str
) -> None:
    duo, _, config = fleet
    serial = listed(duo, "duostation", "devices")[1].serial_number
    code, out, err = run(
        capsys, "--config", str(config), "find", "--serial", serial, "--format", fmt
    )
    assert code == 0, err
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.splitlines()]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
    else:
        assert "acme-duo" in out and "duostation" in out and "acme-ez" in out and "ezmdm" in out
        assert serial in out
        return
    assert [(r["tenant"], r["vendor"]) for r in rows] == [
        ("acme-duo", "duostation"),
        ("acme-ez", "ezmdm"),
    ]
    assert list(rows[0])[:3] == ["tenant", "vendor", "id"]


def test_find_columns_and_limit(
    capsys: pytest.CaptureFixture[str], fleet: tuple[SimServer, SimServer, Path]
) -> None:
    """``--columns`` picks and orders the fields in every format; ``--limit`` caps the rows
    shown (every tenant is still searched); an unknown column is exit 2, naming it."""
    _, _, config = fleet
    code, rows, err = find(
        capsys, config, "--where", "serial_number!=", "--columns", "serial_number,tenant"
    )
    assert code == 0, err
    assert len(rows) == 50 and all(list(r) == ["serial_number", "tenant"] for r in rows)
    code, rows, err = find(capsys, config, "--where", "serial_number!=", "--limit", "3")
    assert code == 0, err
    assert len(rows) == 3
    assert "found in 2 of 2 tenants" in err
    code, out, err = run(
        capsys, "--config", str(config), "find", "--serial", "X", "--columns", "id,colour"
    )
    assert code == 2 and out == ""
    assert "unknown column 'colour'" in assert_one_line_error(err)
    assert "serial_number" in err  # the valid ones are listed


def test_one_tenant_failing_is_reported_beside_the_results(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[SimServer, SimServer, Path],
    duo_sim: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    duo, ez, _ = fleet
    dead = duo_sim(devices=1)
    dead.stop()
    monkeypatch.setenv("WRONG_PW", "Wrong-Canary-Pw-5151")
    config = write_config(
        tmp_path / "mixed.toml",
        {
            "acme-duo": duo_tenant(duo),
            "gone": duo_tenant(dead),
            "refused": duo_tenant(duo, password="env:WRONG_PW"),
            "unset": ez_tenant(ez, api_key="env:UNSET_FIND_VAR"),
            "acme-ez": ez_tenant(ez),
        },
    )
    serial = listed(duo, "duostation", "devices")[2].serial_number
    code, rows, err = find(capsys, config, "--serial", serial)
    assert code == 1, err
    assert [r["tenant"] for r in rows] == ["acme-duo", "acme-ez"]
    failed = [line for line in err.splitlines() if line.startswith("FAILED")]
    assert [line.split()[1] for line in failed] == ["gone", "refused", "unset"]
    assert "UNSET_FIND_VAR" in err and "Wrong-Canary-Pw-5151" not in err
    assert "2 devices found in 2 of 5 tenants; 3 failed" in err
    assert_no_secrets(json.dumps(rows), err)


def test_every_tenant_refusing_credentials_is_exit_3(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[SimServer, SimServer, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    duo, _, _ = fleet
    monkeypatch.setenv("WRONG_PW", "Wrong-Canary-Pw-5151")
    config = write_config(
        tmp_path / "bad.toml", {"refused": duo_tenant(duo, password="env:WRONG_PW")}
    )
    code, _, err = find(capsys, config, "--serial", "X")
    assert code == 3, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--where", "colour=red"], ["'colour'", "devices have no field", "serial_number"]),
        (["--email", "a@b.se", "--where", "os_version<17"], ["users have no field 'os_version'"]),
        (["--where", "os_version==17"], ["unknown operator '=='"]),
        (["--where", "last_seen<soon"], ["last_seen", "30d"]),
        (["--entity", "groups", "--where", "platform=ios"], ["groups have no field 'platform'"]),
    ],
)
def test_bad_where_exits_2_naming_the_field(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[SimServer, SimServer, Path],
    args: list[str],
    words: list[str],
) -> None:
    duo, ez, config = fleet
    code, out, err = run(capsys, "--config", str(config), "find", *args)
    assert code == 2, (out, err)
    line = assert_one_line_error(err)
    for word in words:
        assert word in line, line
    assert duo.count() == 0 and ez.count() == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], ["--serial, --email, --name or --where"]),
        (["--serial", "X", "--entity", "users"], ["--serial finds devices"]),
        (["--email", "a@b", "--entity", "groups"], ["--email finds users"]),
        (["--serial", "X", "--email", "a@b"], ["give one of them"]),
        (["--serial", "  "], ["--serial is empty"]),
        (["--serial", "X", "-t", "@apac"], ["'@apac'", "@eu"]),
        (["--serial", "X", "--entity", "apps"], ["apps"]),
    ],
)
def test_find_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[SimServer, SimServer, Path],
    args: list[str],
    words: list[str],
) -> None:
    duo, ez, config = fleet
    code, out, err = run(capsys, "--config", str(config), "find", *args)
    assert code == 2, (out, err)
    for word in words:
        assert word in err, err
    assert duo.count() == 0 and ez.count() == 0


# ---------------------------------------------------------------------------- export --where


def test_export_where_filters_exported_rows(
    capsys: pytest.CaptureFixture[str], fleet: tuple[SimServer, SimServer, Path], tmp_path: Path
) -> None:
    duo, ez, config = fleet
    devices = [*listed(duo, "duostation", "devices"), *listed(ez, "ezmdm", "devices")]
    users = [*listed(duo, "duostation", "users"), *listed(ez, "ezmdm", "users")]
    output = tmp_path / "ios.jsonl"
    code, _, err = run(
        capsys,
        "--config",
        str(config),
        "export",
        "--entities",
        "devices,users",
        "--where",
        "devices.platform=ios",
        "--where",
        "name~a",
        "--format",
        "jsonl",
        "-o",
        str(output),
    )
    assert code == 0, err
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    got_devices = sorted(r["id"] for r in rows if r["entity"] == "devices")
    got_users = sorted(r["id"] for r in rows if r["entity"] == "users")
    assert got_devices == sorted(
        d.id for d in devices if d.platform.value == "ios" and "a" in (d.name or "").lower()
    )
    assert got_users == sorted(u.id for u in users if "a" in (u.name or "").lower())
    assert got_devices and len(got_devices) < len(devices)


def test_export_where_in_worker_processes(
    fleet: tuple[SimServer, SimServer, Path], tmp_path: Path
) -> None:
    """The parsed expressions travel to spawned workers (they are plain values)."""
    duo, ez, config = fleet
    from mdmbridge.config import load_tenants
    from mdmbridge.export import export

    output = tmp_path / "android.jsonl"
    report = export(
        list(load_tenants(config).values()),
        output=output,
        format="jsonl",
        entities="devices",
        where=["platform=android"],
        processes=2,
    )
    assert report.committed and not report.failed
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    everything = [*listed(duo, "duostation", "devices"), *listed(ez, "ezmdm", "devices")]
    assert len(rows) == sum(d.platform.value == "android" for d in everything) > 0
    assert report.written == {"devices": len(rows)}


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("os_version<17", ["users", "no field 'os_version'", "devices.os_version<17"]),
        ("colour=red", ["'colour'"]),
        ("tags.name=x", ["tags are not among"]),
    ],
)
def test_export_bad_where_exits_2_before_anything(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[SimServer, SimServer, Path],
    tmp_path: Path,
    where: str,
    words: list[str],
) -> None:
    duo, ez, config = fleet
    output = tmp_path / "out.jsonl"
    args = [
        "--config",
        str(config),
        "export",
        "--where",
        where,
        "--format",
        "jsonl",
        "-o",
        str(output),
    ]
    code, out, err = run(capsys, *args)
    assert code == 2, (out, err)
    line = assert_one_line_error(err)
    for word in words:
        assert word in line, line
    assert duo.count() == 0 and ez.count() == 0 and not output.exists()


# ---------------------------------------------------------------------------- adapters


def test_adapters_shows_who_applies_each_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "adapters", "--filters", "--format", "json")
    assert code == 0, err
    rows = {(r["entity"], r["filter"]): r for r in json.loads(out)}
    declared = {(e.name, f.name) for e in ENTITIES.values() for f in e.filter_fields}
    assert set(rows) == declared
    assert rows[("devices", "serial_number")]["duostation"] == "server"
    assert rows[("devices", "serial_number")]["ezmdm"] == "local"
    assert rows[("devices", "user_id")]["ezmdm"] == "server"
    assert rows[("users", "email")]["ezmdm"] == "local"
    assert rows[("groups", "path")]["ezmdm"] == "local"
    assert rows[("device_tags", "device_id")]["ezmdm"] == "-"  # ezmdm has no tags
    code, out, err = run(capsys, "adapters")  # a person sees both tables
    assert code == 0, err
    assert "capabilities" in out and "list filters" in out and "serial_number" in out


# ---------------------------------------------------------------------------- local filters


def test_every_registry_filter_has_a_local_rule() -> None:
    declared = {(e.name, f.name) for e in ENTITIES.values() for f in e.filter_fields}
    assert {(e, f) for e, rules in RULES.items() for f in rules} == declared


@pytest.fixture
def duo_pair(
    duo_sim: Factory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, Any, SimServer]]:
    """Two clients on one DuoSTATION: the vendor applies every filter on ``server``; the
    client applies every filter itself on ``local`` (its adapter declares none)."""
    sim = duo_sim(devices=40, seed=SEED)
    server, local = connect_duo(sim), connect_duo(sim)
    monkeypatch.setattr(local.adapter, "list_filters", {})
    yield server, local, sim
    server.close()
    local.close()


def _variants(values: list[str | None]) -> list[str]:
    """Existing values as a user might type them, and one that matches nothing."""
    out: list[str] = []
    for value in [v for v in values if v][:4]:
        out += [value, value.upper(), f"  {value.lower()} "]
    return [*out, "no-such-value-42"]


def test_local_filters_give_exactly_what_the_vendor_gives(
    duo_pair: tuple[Any, Any, SimServer],
) -> None:
    server, local, _ = duo_pair
    devices, users = list(server.devices.list()), list(server.users.list())
    groups, tags = list(server.groups.list()), list(server.tags.list())
    ids = {
        "devices": [d.id for d in devices[:3]] + ["00000000-0000-0000-0000-000000000000"],
        "users": [u.id for u in users[:3]] + ["99999"],
        "groups": [g.id for g in groups[:4]] + ["99999"],
        "tags": [t.id for t in tags] + ["99999"],
    }
    cases: dict[str, dict[str, list[str]]] = {
        "devices": {
            "serial_number": _variants([d.serial_number for d in devices]),
            "group_id": ids["groups"],
            "user_id": ids["users"],
            "account": _variants([u.account for u in users]),
            "tag_id": ids["tags"],
        },
        "users": {
            "email": _variants([u.email for u in users]),
            "phone": _variants([u.phone for u in users]),
            "account": _variants([u.account for u in users]),
            "group_id": ids["groups"],
            "tag_id": ids["tags"],
        },
        "groups": {
            "number": _variants([g.number for g in groups]),
            "path": [
                *[g.path for g in groups[:5] if g.path],
                *[" /" + (g.path or "").upper().replace("/", BACKSLASH) + "/ " for g in groups[:5]],
                "Nowhere/At all",
            ],
        },
        "device_tags": {
            "device_id": ids["devices"],
            "serial_number": _variants([d.serial_number for d in devices]),
        },
        "user_tags": {
            "user_id": ids["users"],
            "email": _variants([u.email for u in users]),
        },
    }
    assert {(e, f) for e, fs in cases.items() for f in fs} == {
        (e, f) for e, rules in RULES.items() for f in rules
    }
    compared = 0
    for entity, filters in cases.items():
        for name, values in filters.items():
            for value in values:
                want = list(getattr(server, entity).list(**{name: value}))
                got = list(getattr(local, entity).list(**{name: value}))
                assert got == want, (entity, name, value)
                compared += bool(want)
    assert compared > 40  # most cases match something: the comparison is not vacuous


def test_filters_combine_server_and_local(duo_pair: tuple[Any, Any, SimServer]) -> None:
    server, local, _ = duo_pair
    device = list(server.devices.list())[7]
    assert device.user_id is not None
    both = {"user_id": device.user_id, "serial_number": device.serial_number.lower()}
    assert list(local.devices.list(**both)) == list(server.devices.list(**both)) == [device]


def test_ezmdm_local_filters_are_exact(ez_sim: Factory) -> None:
    sim = ez_sim(devices=30, seed=SEED)
    with connect_ez(sim) as ez:
        devices, users, groups = (
            list(ez.devices.list()),
            list(ez.users.list()),
            list(ez.groups.list()),
        )
        for device in devices[:5]:
            assert device.serial_number
            assert list(ez.devices.list(serial_number=device.serial_number.lower())) == [
                d for d in devices if d.serial_number == device.serial_number
            ]
        for user in users[:5]:
            assert user.email and user.phone
            assert list(ez.users.list(email=f" {user.email.upper()}")) == [
                u for u in users if (u.email or "").lower() == user.email.lower()
            ]
            assert list(ez.users.list(phone=user.phone)) == [
                u for u in users if u.phone == user.phone
            ]
        for group in groups[:5]:
            # Flat groups: the name is the path; "A / B" is the group named so.
            assert list(ez.groups.list(path=group.name.upper().replace(" / ", "\\"))) == [group]
            members = {u.id for u in users if u.group_id == group.id}
            # ezmdm devices carry no group: a device is in its user's group.
            assert list(ez.devices.list(group_id=group.id)) == [
                d for d in devices if d.user_id in members
            ]
        assert list(ez.groups.list(number="1")) == []  # ezmdm groups have no number
        assert list(ez.users.list(account="x")) == []  # nor users an account
        assert list(ez.devices.list(account="x")) == []
        assert list(ez.devices.list(tag_id="1")) == []  # nor tags: nothing carries one
        combined = list(
            ez.devices.list(user_id=devices[0].user_id, serial_number=devices[0].serial_number)
        )
        assert combined == [devices[0]]


def test_local_filtering_is_lazy_and_streams(ez_sim: Factory) -> None:
    sim = ez_sim(devices=250, seed=SEED)
    with connect_ez(sim, page_size=25, page_concurrency=1) as ez:
        first = next(iter(ez.devices.list()))
        sim.reset_counts()
        listing = ez.devices.list(serial_number=first.serial_number)
        assert sim.count() == 0  # nothing asked before the first record is wanted
        assert not isinstance(listing, list)
        assert next(listing) == first
        assert sim.count() == 1  # one page, not the whole fleet
        listing.close()  # type: ignore[attr-defined]
        assert sim.count() == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.devices.list(serial_number="  "), "serial_number is empty"),
        (lambda c: c.users.list(email=""), "email is empty"),
        (lambda c: c.groups.list(path=" / \\ "), "group path is empty"),
        (lambda c: c.devices.list(user_id=" "), "user_id is empty"),
    ],
)
def test_blank_filter_values_are_refused_before_any_request(
    ez_sim: Factory, call: Callable[[Any], Any], message: str
) -> None:
    sim = ez_sim(devices=3)
    with connect_ez(sim) as ez, pytest.raises(mdmbridge.ValidationError, match=message):
        call(ez)
    assert sim.count() == 0
