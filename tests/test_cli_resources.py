"""The per-tenant resource commands, run in-process against real simulators.

``main([...])`` is the whole CLI: parsing, the library, one-line errors, exit codes.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

from mdmbridge.cli import main
from mdmbridge.cli.app import load_command
from mdmbridge.client import Apps, Devices, Groups, Tags, Users
from mdmbridge.simulation import SimServer
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

NAME = "Åsa Öberg & Co"
MISSING_GUID = "00000000-0000-4000-8000-000000000000"
EZ_MISSING = "999999999999999999999999999999"


class _Terminal(io.StringIO):
    """Typed answers, from what looks like a person at a terminal."""

    def isatty(self) -> bool:
        return True


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def one(self) -> dict[str, Any]:
        data = self.json()  # get prints the object; create and update a list of one
        (record,) = [data] if isinstance(data, dict) else data
        assert isinstance(record, dict)
        return record


@dataclass
class Env:
    duo: SimServer
    ez: SimServer
    config: Path
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def __call__(self, *args: str, input: str = "", tty: bool = False) -> Result:
        self.monkeypatch.setattr(sys, "stdin", _Terminal(input) if tty else io.StringIO(input))
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    @property
    def duo_app(self) -> Any:
        return self.duo.app

    @property
    def ez_app(self) -> Any:
        return self.ez.app

    def first_device(self, tenant: str = "duo") -> str:
        return str(self("devices", "list", tenant, "--format", "json").json()[0]["id"])


@pytest.fixture
def cli(
    duo_sim: Callable[..., SimServer],
    ez_sim: Callable[..., SimServer],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Env:
    duo, ez = duo_sim(devices=4), ez_sim(devices=4)
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    config = tmp_path / "tenants.toml"
    fast = "retries = 1\nread_timeout_s = 5.0\n"
    config.write_text(
        f'[tenants.duo]\nvendor = "duostation"\nbase_url = "{duo.base_url}"\n'
        f'username = "{DUO_USER}"\npassword = "env:TEST_DUO_PASSWORD"\n{fast}'
        f'[tenants.ez]\nvendor = "ezmdm"\nbase_url = "{ez.base_url}"\napi_key = "{EZ_KEY}"\n{fast}'
        f'[tenants.duo-bad]\nvendor = "duostation"\nbase_url = "{duo.base_url}"\n'
        f'username = "{DUO_USER}"\npassword = "wrong-password"\n{fast}',
        encoding="utf-8",
    )
    return Env(duo, ez, config, capsys, monkeypatch)


def one_line_error(result: Result, code: int) -> str:
    assert result.code == code, (result.out, result.err)
    assert "Traceback" not in result.err
    assert result.err.strip() and "\n" not in result.err.strip(), result.err
    return result.err.strip()


# --------------------------------------------------------------------------- the tree


def test_command_tree_matches_the_client_signatures(cli: Env) -> None:
    namespaces = {"groups": Groups, "users": Users, "devices": Devices, "tags": Tags, "apps": Apps}
    plumbing = {"fmt", "raw", "clear", "yes", "columns", "limit", "no_pager"}
    expected = {
        "groups": {"list", "get", "create", "update", "delete"},
        "users": {"list", "get", "create", "update", "delete"},
        "tags": {"list", "get", "create", "update", "delete", "link", "unlink", "links"},
        "apps": {"list", "get", "upsert"},
        "devices": {"list", "get", "assign", "rename", "locations", "send"},
    }
    for name, namespace in namespaces.items():
        group = load_command(name)
        assert isinstance(group, click.Group)
        assert set(group.commands) == expected[name]
        for verb in ("list", "create", "update", "upsert"):
            if verb not in group.commands:
                continue
            options = {
                p.name
                for p in group.commands[verb].params
                if isinstance(p, click.Option) and p.name not in plumbing
            }
            keywords = {
                p.name
                for p in inspect.signature(getattr(namespace, verb)).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY
            }
            assert options == keywords, (name, verb)
    assert cli("devices", "send", "--help").code == 0


# --------------------------------------------------------------------------- DuoSTATION


def test_duo_groups_crud_with_non_ascii(cli: Env) -> None:
    created = cli("groups", "create", "duo", "--name", NAME, "--parent-id", "1", "--notes", "hej",
                  "--format", "json")  # fmt: skip
    assert created.code == 0, created.err
    group = created.one()
    assert (group["name"], group["parent_id"], group["notes"]) == (NAME, "1", "hej")
    got = cli("groups", "get", "duo", group["id"], "--format", "json").one()
    assert got["name"] == NAME and got["path"] == f"Göteborg/{NAME}"
    table = cli("groups", "get", "duo", group["id"])
    assert table.code == 0 and NAME in table.out and "Göteborg/" in table.out
    listed = cli("groups", "list", "duo", "--format", "jsonl")
    assert NAME in {json.loads(line)["name"] for line in listed.out.splitlines()}
    updated = cli("groups", "update", "duo", group["id"], "--name", NAME + " II",
                  "--clear", "notes", "--format", "json").one()  # fmt: skip
    assert (updated["name"], updated["notes"]) == (NAME + " II", None)
    stored = cli.duo_app.groups[int(group["id"])]
    assert stored["Name"] == NAME + " II" and stored["Notes"] is None and stored["ParentId"] == 1
    deleted = cli("groups", "delete", "duo", group["id"], "--yes")
    assert deleted.code == 0 and f"deleted group {group['id']} in tenant duo" in deleted.out
    assert int(group["id"]) not in cli.duo_app.groups


def test_duo_update_sends_only_the_given_fields(cli: Env) -> None:
    before = dict(cli.duo_app.groups[1])
    result = cli("groups", "update", "duo", "1", "--number", "77", "--format", "json")
    assert result.code == 0, result.err
    after = cli.duo_app.groups[1]
    assert after == {**before, "Number": "77"}
    refused = cli("groups", "update", "duo", "1", "--notes", "x", "--clear", "notes")
    assert refused.code == 2 and "contradict" in refused.err
    nothing = cli("groups", "update", "duo", "1")
    assert "nothing to update" in one_line_error(nothing, 2)
    assert cli("groups", "update", "duo", "1", "--clear", "bogus").code == 2


def test_duo_users_crud(cli: Env) -> None:
    created = cli("users", "create", "duo", "--name", NAME, "--email", "asa@example.se",
                  "--group-id", "2", "--company", "Öresund", "--format", "json")  # fmt: skip
    assert created.code == 0, created.err
    user = created.one()
    assert (user["name"], user["email"], user["group_id"]) == (NAME, "asa@example.se", "2")
    assert cli("users", "get", "duo", user["id"], "--format", "json").one()["company"] == "Öresund"
    found = cli("users", "list", "duo", "--email", "asa@example.se", "--format", "json").json()
    assert [u["id"] for u in found] == [user["id"]]
    updated = cli("users", "update", "duo", user["id"], "--phone", "+46 70 1",
                  "--clear", "company", "--format", "json").one()  # fmt: skip
    assert (updated["phone"], updated["company"], updated["email"]) == (
        "+46 70 1",
        None,
        "asa@example.se",
    )
    assert cli("users", "delete", "duo", user["id"], "-y").code == 0
    assert int(user["id"]) not in cli.duo_app.users


def test_duo_tags_crud_and_links(cli: Env) -> None:
    tag = cli(
        "tags", "create", "duo", "--name", NAME, "--description", "d", "--format", "json"
    ).one()
    assert cli("tags", "get", "duo", tag["id"], "--format", "json").one()["name"] == NAME
    assert NAME in {t["name"] for t in cli("tags", "list", "duo", "--format", "json").json()}
    updated = cli("tags", "update", "duo", tag["id"], "--clear", "description", "--format", "json")
    assert updated.one()["description"] is None
    device = cli.first_device()
    link = cli(
        "tags", "link", "duo", "--device-id", device, "--tag-id", tag["id"], "--format", "json"
    )
    assert link.code == 0, link.err
    link_id = link.one()["id"]
    links = cli("tags", "links", "duo", "device", "--device-id", device, "--format", "json").json()
    assert {(x["tag_id"], x["target_id"]) for x in links} >= {(tag["id"], device)}
    wrong = cli("tags", "links", "duo", "device", "--email", "x@example.se")
    assert wrong.code == 2 and "user links" in wrong.err
    assert cli("tags", "link", "duo", "--tag-id", tag["id"]).code == 2
    unlinked = cli("tags", "unlink", "duo", "device", link_id)
    assert unlinked.code == 0 and int(link_id) not in cli.duo_app.device_tags
    assert cli("tags", "delete", "duo", tag["id"], "--yes").code == 0
    assert int(tag["id"]) not in cli.duo_app.tags


def test_duo_apps_upsert_get_list(cli: Env) -> None:
    args = ["--name", NAME, "--company", "Öresund Data", "--package-id", "se.oresund.skanner",
            "--version-text", "1.0", "--platform", "android", "--size", "1024", "--store", "play",
            "--store-id", "se.oresund.skanner", "--image-url", "https://apps.example.se/i.png"]  # fmt: skip
    added = cli("apps", "upsert", "duo", *args, "--format", "json")
    assert added.code == 0, added.err
    app = added.one()
    again = cli("apps", "upsert", "duo", *args, "--version-number", "11", "--format", "json").one()
    assert again["id"] == app["id"] and again["version_number"] == 11
    got = cli("apps", "get", "duo", app["id"], "--format", "json").one()
    assert (got["name"], got["platform"], got["store"]) == (NAME, "android", "play")
    assert app["id"] in {a["id"] for a in cli("apps", "list", "duo", "--format", "json").json()}
    missing = cli("apps", "upsert", "duo", "--name", "x")
    assert missing.code == 2 and "Missing option" in missing.err


def test_duo_devices_list_get_assign(cli: Env) -> None:
    devices = cli("devices", "list", "duo", "--format", "json").json()
    assert len(devices) == 4
    serial = devices[0]["serial_number"]
    by_serial = cli("devices", "list", "duo", "--serial-number", serial, "--format", "json").json()
    assert [d["id"] for d in by_serial] == [devices[0]["id"]]
    got = cli("devices", "get", "duo", devices[0]["id"], "--format", "json").one()
    assert got["serial_number"] == serial
    user = cli("users", "create", "duo", "--name", "Ny Ägare", "--format", "json").one()
    assigned = cli("devices", "assign", "duo", devices[0]["id"], user["id"], "--format", "json")
    assert assigned.one()["user_id"] == user["id"]
    table = cli("devices", "get", "duo", devices[0]["id"])
    assert serial in table.out and devices[0]["id"] in table.out


def test_duo_send_commands(cli: Env) -> None:
    device = cli.first_device()
    locked = cli("devices", "send", "duo", device, "lock")
    assert locked.code == 0 and locked.out.count("\n") == 1
    assert f"lock accepted for device {device} in tenant duo (duostation) at " in locked.out
    message = cli(
        "devices", "send", "duo", device, "message", "Hej då & välkommen", "--format", "json"
    )
    assert message.one()["command"] == "message"  # the name users type, not send_message
    app = cli("devices", "send", "duo", device, "install-app", "1", "--no-vpp", "--format", "jsonl")
    assert json.loads(app.out)["device_id"] == device
    assert [c[1] for c in cli.duo_app.commands] == ["lockdevice", "sendmessage", "installapp"]
    assert cli.duo_app.commands[1][2]["message"] == "Hej då & välkommen"
    assert cli.duo_app.commands[2][2]["vpp"] is False
    for bad in (["frob"], ["message"], ["lock", "extra"], ["lock", "--vpp"]):
        result = cli("devices", "send", "duo", device, *bad)
        assert result.code == 2 and "Traceback" not in result.err, bad
    assert len(cli.duo_app.commands) == 3


def test_send_to_several_devices_reports_each(cli: Env) -> None:
    device = cli.first_device()
    result = cli("devices", "send", "duo", "refresh", "--device", device,
                 "--device", MISSING_GUID, "--device", "not-a-guid", "--device", device)  # fmt: skip
    assert result.code == 1
    assert [c[0] for c in cli.duo_app.commands] == [device]  # sent once, despite the repeat
    assert result.out.count("accepted for device") == 1
    assert f"device {MISSING_GUID}:" in result.err and "device not-a-guid:" in result.err
    assert "2 of 3 devices failed" in result.err and "Traceback" not in result.err


# --------------------------------------------------------------------------- confirmation


def test_wipe_asks_and_no_sends_nothing(cli: Env) -> None:
    device = cli.first_device()
    declined = cli("devices", "send", "duo", device, "wipe", input="n\n", tty=True)
    assert declined.code != 0 and cli.duo_app.commands == []
    assert f"Wipe device {device} in tenant duo (duostation)?" in declined.err
    serial = cli("devices", "get", "duo", device, "--format", "json").one()["serial_number"]
    wrong = cli("devices", "send", "duo", device, "wipe", input="y\n", tty=True)
    assert wrong.code != 0 and cli.duo_app.commands == []  # a wipe is confirmed by its serial
    accepted = cli("devices", "send", "duo", device, "wipe", input=f"{serial}\n", tty=True)
    assert accepted.code == 0, accepted.err
    assert [(d, c) for d, c, _ in cli.duo_app.commands] == [(device, "wipedevice")]


def test_destructive_without_terminal_needs_yes(cli: Env) -> None:
    device = cli.first_device()
    cli.duo.reset_counts()
    for args in (
        ["devices", "send", "duo", device, "wipe"],
        ["devices", "send", "duo", device, "clear-passcode"],
        ["groups", "delete", "duo", "40"],
    ):
        result = cli(*args)
        assert "--yes" in one_line_error(result, 2)
    assert cli.duo.count() == 0 and cli.duo_app.commands == [] and 40 in cli.duo_app.groups
    declined = cli("groups", "delete", "duo", "40", input="n\n", tty=True)
    assert declined.code != 0 and 40 in cli.duo_app.groups
    assert cli.duo.writes() == 0
    wiped = cli("devices", "send", "duo", device, "clear-passcode", "--yes")
    assert wiped.code == 0 and [c for _, c, _ in cli.duo_app.commands] == ["clearpasscode"]


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_every_format_parses(cli: Env, fmt: str) -> None:
    expected = cli("users", "list", "duo", "--format", "json").json()
    result = cli("users", "list", "duo", "--format", fmt)
    assert result.code == 0 and result.err == ""
    if fmt == "json":
        rows = result.json()
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in result.out.splitlines()]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.out)))
        rows = [{k: (v or None) for k, v in row.items()} for row in rows]
    else:
        assert "users in duo (duostation)" in result.out
        for user in expected:
            assert user["name"] in result.out and user["id"] in result.out
        return
    assert rows == expected and all("raw" not in row for row in rows)


def test_get_in_every_format(cli: Env) -> None:
    for fmt in ("json", "jsonl", "csv"):
        out = cli("groups", "get", "duo", "1", "--format", fmt).out
        if fmt in ("json", "jsonl"):  # get prints an object in both
            row = json.loads(out)
        else:
            (row,) = csv.DictReader(io.StringIO(out))
        assert (row["id"], row["name"]) == ("1", "Göteborg"), fmt


def test_empty_listing_keeps_its_columns(cli: Env) -> None:
    empty = cli("users", "list", "duo", "--email", "nobody@example.se", "--format", "csv")
    assert empty.code == 0 and empty.out.splitlines()[0].startswith("tenant,vendor,id,name")
    assert (
        cli("users", "list", "duo", "--email", "nobody@example.se", "--format", "json").json() == []
    )


def test_raw_includes_the_vendor_payload(cli: Env) -> None:
    plain = cli("groups", "get", "duo", "1", "--format", "json").one()
    assert "raw" not in plain
    raw = cli("groups", "get", "duo", "1", "--raw", "--format", "json").one()
    assert raw["raw"]["LostModeFootNode"] == "IT-support Göteborg"
    listed = cli("devices", "list", "duo", "--raw", "--format", "csv")
    first = next(csv.DictReader(io.StringIO(listed.out)))
    assert json.loads(first["raw"])["SerialNumber"] == first["serial_number"]
    assert "LostModeFootNode" in cli("groups", "get", "duo", "1", "--raw").out


# --------------------------------------------------------------------------- errors


def test_bad_id_is_a_usage_error(cli: Env) -> None:
    message = one_line_error(cli("groups", "get", "duo", "abc"), 2)
    assert "group id must be an integer" in message and message.startswith("mdmbridge: error:")
    assert cli.duo.count() == 0


def test_not_found_exits_1(cli: Env) -> None:
    assert "not found" in one_line_error(cli("groups", "get", "duo", "99999"), 1)
    assert "not found" in one_line_error(cli("devices", "get", "duo", MISSING_GUID), 1).lower()
    assert one_line_error(cli("users", "get", "ez", EZ_MISSING), 1)


def test_wrong_password_exits_3(cli: Env) -> None:
    one_line_error(cli("devices", "list", "duo-bad"), 3)
    assert DUO_PASSWORD not in cli("devices", "list", "duo-bad", "-v").err


def test_unknown_tenant_exits_2(cli: Env) -> None:
    assert "unknown tenant" in one_line_error(cli("groups", "list", "nope"), 2)


# --------------------------------------------------------------------------- ezmdm


def test_ez_groups_and_users(cli: Env) -> None:
    group = cli("groups", "create", "ez", "--name", NAME, "--format", "json").one()
    assert cli("groups", "get", "ez", group["id"], "--format", "json").one()["name"] == NAME
    renamed = cli("groups", "update", "ez", group["id"], "--name", "Ny", "--format", "json").one()
    assert renamed["name"] == "Ny"
    assert "Ny" in {g["name"] for g in cli("groups", "list", "ez", "--format", "json").json()}
    user = cli("users", "create", "ez", "--name", NAME, "--email", "a@example.se",
               "--group-id", group["id"], "--format", "json").one()  # fmt: skip
    assert (user["name"], user["group_id"]) == (NAME, group["id"])
    members = cli("users", "list", "ez", "--group-id", group["id"], "--format", "json").json()
    assert [u["id"] for u in members] == [user["id"]]
    updated = cli("users", "update", "ez", user["id"], "--phone", "+46 8", "--format", "json")
    assert updated.one()["phone"] == "+46 8"
    table = cli("users", "get", "ez", user["id"])
    assert NAME in table.out and "ez (ezmdm)" in table.out


def test_ez_devices(cli: Env) -> None:
    devices = cli("devices", "list", "ez", "--format", "json").json()
    assert len(devices) == 4
    device = devices[0]["id"]
    renamed = cli("devices", "rename", "ez", device, NAME, "--format", "json").one()
    assert renamed["name"] == NAME
    assert cli("devices", "get", "ez", device, "--format", "json").one()["name"] == NAME
    user = cli("users", "list", "ez", "--format", "json").json()[-1]["id"]
    assert cli("devices", "assign", "ez", device, user, "--format", "json").one()["user_id"] == user
    located = cli("devices", "locations", "ez", device, "--format", "jsonl")
    assert located.code == 0
    assert all(json.loads(line)["device_id"] == device for line in located.out.splitlines())
    refreshed = cli("devices", "send", "ez", device, "refresh")
    assert refreshed.code == 0 and cli.ez_app.pushes == [device]


@pytest.mark.parametrize(
    "args",
    [
        ["tags", "list", "ez"],
        ["tags", "create", "ez", "--name", "x"],
        ["tags", "links", "ez", "device"],
        ["apps", "list", "ez"],
        ["groups", "delete", "ez", "abc", "--yes"],
        ["groups", "delete", "ez", "abc"],  # refused before asking
        ["users", "delete", "ez", "abc"],
        ["groups", "create", "ez", "--name", "x", "--parent-id", "p"],
        ["devices", "send", "ez", "abc", "wipe", "--yes"],
        ["devices", "send", "ez", "abc", "wipe"],
        ["devices", "send", "ez", "abc", "lock"],
        ["devices", "locations", "duo", MISSING_GUID],
        ["devices", "rename", "duo", MISSING_GUID, "x"],
    ],
)
def test_unsupported_is_refused_locally(cli: Env, args: list[str]) -> None:
    result = cli(*args)
    message = one_line_error(result, 1)
    assert "does not support" in message or "cannot filter" in message
    assert cli.ez.count() == 0 and cli.duo.count() == 0


def test_filters_ezmdm_lacks_are_applied_by_the_client(cli: Env) -> None:
    """Once refused ("ezmdm cannot filter ..."): now listed and filtered locally, exactly."""
    devices = cli("devices", "list", "ez", "--format", "json").json()
    wanted = devices[2]["serial_number"]
    found = cli("devices", "list", "ez", "--serial-number", wanted.lower(), "--format", "json")
    assert found.code == 0, found.err
    assert found.json() == [d for d in devices if d["serial_number"] == wanted]
    groups = cli("groups", "list", "ez", "--format", "json").json()
    numbered = cli("groups", "list", "ez", "--number", "1", "--format", "json")
    assert numbered.code == 0 and numbered.json() == [g for g in groups if g["number"] == "1"]
    by_path = cli("groups", "list", "ez", "--path", groups[0]["name"], "--format", "json")
    assert by_path.json() == [groups[0]]
