"""Migration between DuoSTATION and Intune, both ways, against live simulators over real
HTTP: plan -> apply -> verify, counted and checked at the simulators themselves.

Seeding: both simulators draw from the same generator, so one seed gives the same people
(e-mail addresses) on both, the same group tree (Intune holds it as flat names joined with
" / ", plus an all-staff group) and the same serial numbers for phones and tablets.

What the contract (docs/intune-contract.md) decides, and these tests hold:

* into Intune, users are matched (by e-mail, then sign-in name), never created: Entra ID
  owns them; an unmatched user is noted with the reason. A matched user gets exactly one
  membership: the group its source group was mapped to;
* device-to-user links cannot be made in Intune (v1.0 has no write for a primary user);
* out of Intune, each user moves into one group: its most specific migrated group, the
  others noted;
* verify is complete after a full run, both ways.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mdmbridge
import mdmbridge.migrate as migration
from mdmbridge.cli import main
from mdmbridge.config import CONFIG_ENV
from mdmbridge.migrate import load_plan
from mdmbridge.simulation import SimServer
from tests.conftest import connect_duo
from tests.support import DUO_PASSWORD, DUO_USER
from tests.test_intune import INTUNE_SECRET, app, connect_intune, intune_settings
from tests.test_intune import intune_sim as intune_sim  # the fixture
from tests.test_migrate import duo_view

SEED = 7
DEVICES = 300  # 240 people, the 40-group tree
SEP = " / "
ALL_STAFF = "Alla medarbetare"

Factory = Callable[..., SimServer]


def intune_view(server: SimServer) -> dict[str, Any]:
    """What the Intune simulator holds: groups by name, users by e-mail with the names of
    their groups, read from its state."""
    sim = app(server)
    groups = {gid: sim.group(gid) for gid in sim.ids("groups")}
    names = {gid: str(g["displayName"]) for gid, g in groups.items() if g is not None}
    users: dict[str, dict[str, Any]] = {}
    for uid in sim.ids("users"):
        record = sim.user(uid)
        assert record is not None
        users[str(record["mail"])] = {
            "id": uid,
            "name": record["displayName"],
            "phone": record["mobilePhone"],
            "groups": {names[g] for g in sim.group_ids_of(uid) if g in names},
        }
    return {"groups": names, "users": users}


def most_specific(groups: set[str]) -> str:
    return max(sorted(groups), key=lambda name: len(name.split(SEP)))


def full_run(source: mdmbridge.Client, target: mdmbridge.Client, ledger: Path) -> migration.Plan:
    plan = migration.plan(source, target)
    report = migration.apply(plan, target, ledger=ledger)
    assert report.interrupted is None
    assert report.ok, [r for r in report.results if r.outcome in ("failed", "skipped")][:3]
    check = migration.verify(source, target, ledger=ledger)
    assert check.complete, (check.missing[:3], check.different[:3], check.unlinked[:3])
    again = migration.apply(plan, target, ledger=ledger)
    assert again.writes_sent == 0 and set(again.counts()) == {"already done"}
    return plan


def reasons(plan: migration.Plan, kind: str) -> list[str]:
    return [n.reason for n in plan.not_migrated if n.kind == kind]


# ---------------------------------------------------------------------------- DuoSTATION -> Intune


def test_duostation_to_intune_matches_users_and_adds_one_membership_each(
    duo_sim: Factory, intune_sim: Factory, tmp_path: Path
) -> None:
    duo = duo_sim(devices=DEVICES, seed=SEED)
    intune = intune_sim(devices=DEVICES, seed=SEED)
    source = connect_duo(duo, tenant="old", read_only=True)
    target = connect_intune(intune, tenant="new")
    before = intune_view(intune)
    intune.reset_counts()

    plan = full_run(source, target, tmp_path / "plan.ledger.jsonl")

    actions = Counter(f"{s.action} {s.kind}" for s in plan.steps)
    assert actions["reuse group"] == 40 and actions["reuse user"] == 240
    assert "create user" not in actions and "create group" not in actions
    assert actions["update user"] > 150  # memberships (and fields) to put in place
    # What Intune cannot hold is said, each with its reason.
    assert reasons(plan, "device_user") == [
        "270 device-to-user links: intune cannot assign devices to users"
    ]
    assert len(reasons(plan, "tag")) == 4 and all(
        "intune has no tags" in r for r in reasons(plan, "tag")
    )
    assert len(reasons(plan, "app")) == 3
    assert Counter(reasons(plan, "user")) == {"intune users cannot hold account_group": 240}
    assert all("intune groups cannot hold number" in r for r in reasons(plan, "group"))

    after = intune_view(intune)
    assert len(after["users"]) == len(before["users"]) == 240  # nobody was created
    assert sorted(after["groups"].values()) == sorted(before["groups"].values())
    writes = Counter((w.method, w.path.split("/")[2]) for w in app(intune).writes)
    assert set(writes) <= {("PATCH", "users"), ("POST", "groups")}  # PATCHes and $refs
    assert all(w.path.endswith("/members/$ref") for w in app(intune).writes if w.method == "POST")

    src = duo_view(duo)
    checked = 0
    for user in src.users.values():
        there = after["users"][user["email"]]
        assert there["name"] == user["name"] and there["phone"] == user["phone"]
        if user["group"] is not None:
            assert user["group"] in there["groups"], user["email"]
            # exactly one membership was added: the mapped group, no other
            added = there["groups"] - before["users"][user["email"]]["groups"]
            assert added <= {user["group"]}
            checked += 1
    assert checked > 200


def test_duostation_to_intune_notes_the_users_entra_does_not_have(
    duo_sim: Factory, intune_sim: Factory, tmp_path: Path
) -> None:
    duo = duo_sim(devices=DEVICES, seed=SEED)
    intune = intune_sim(devices=60, seed=SEED)  # 48 of the 240 people are in Entra
    source = connect_duo(duo, tenant="old", read_only=True)
    target = connect_intune(intune, tenant="new")

    plan = full_run(source, target, tmp_path / "plan.ledger.jsonl")

    missing = [r for r in reasons(plan, "user") if "does not own users" in r]
    assert len(missing) == 240 - 48
    assert missing[0].startswith("no user in the target matches the e-mail '")
    assert missing[0].endswith(
        "': Intune does not own users: create it in Entra ID (or your directory sync), "
        "then plan again"
    )
    assert not [s for s in plan.steps if s.kind == "user" and s.action == "create"]
    assert len(intune_view(intune)["users"]) == 48
    assert not [w for w in app(intune).writes if w.path == "/v1.0/users"]  # no POST /users


def test_duostation_to_an_empty_intune_creates_flat_security_groups(
    duo_sim: Factory, intune_sim: Factory, tmp_path: Path
) -> None:
    duo = duo_sim(devices=DEVICES, seed=SEED)
    intune = intune_sim(devices=0)
    source = connect_duo(duo, tenant="old", read_only=True)
    target = connect_intune(intune, tenant="new")

    plan = full_run(source, target, tmp_path / "plan.ledger.jsonl")

    assert Counter(s.action for s in plan.steps) == {"create": 40}
    src = duo_view(duo)
    names = intune_view(intune)["groups"]
    assert sorted(names.values()) == sorted(src.groups.values())  # "Göteborg / IT / Fält"
    assert any(name.count(SEP) == 2 for name in names.values())
    for gid in names:
        record = app(intune).group(gid)
        assert record is not None
        assert (record["securityEnabled"], record["mailEnabled"], record["groupTypes"]) == (
            True,
            False,
            [],
        )
    # the lost-mode notes of four groups are lost to Intune, and said so; notes are kept
    noted = [n for n in plan.not_migrated if n.kind == "group"]
    assert len(noted) == 40 and all("number" in n.fields for n in noted)
    assert sum("lost_mode_message" in n.fields for n in noted) == 4


# ---------------------------------------------------------------------------- Intune -> DuoSTATION


@pytest.mark.parametrize("target_devices", [0, DEVICES], ids=["empty", "seeded"])
def test_intune_to_duostation_puts_each_user_in_its_most_specific_group(
    duo_sim: Factory, intune_sim: Factory, tmp_path: Path, target_devices: int
) -> None:
    intune = intune_sim(devices=DEVICES, seed=SEED)
    duo = duo_sim(devices=target_devices, seed=SEED)
    source = connect_intune(intune, tenant="old", read_only=True)
    target = connect_duo(duo, tenant="new")
    intune.reset_counts()

    plan = full_run(source, target, tmp_path / "plan.ledger.jsonl")

    # The source is only read: its one POST is the token request, not a Graph write.
    assert app(intune).writes == []
    assert [r.path for r in intune.log if r.method != "GET"] == [
        f"/{app(intune).tokens.tenant_id}/oauth2/v2.0/token"
    ]
    src = intune_view(intune)
    dst = duo_view(duo)
    # The flat names were split on " / " into the tree; the all-staff group is a top group.
    assert set(dst.groups.values()) == set(src["groups"].values())
    assert Counter(dst.groups.values())[ALL_STAFF] == 1
    by_email = dst.user_by_email()
    assert len(by_email) == 240
    for email, user in src["users"].items():
        there = by_email[email]
        assert there["name"] == user["name"] and there["phone"] == user["phone"]
        assert there["group"] == most_specific(user["groups"]), email
    # Every user is in several groups (its team, all staff, sometimes its city): one moves.
    multi = [n for n in reasons(plan, "user") if "the target holds one group per user" in n]
    assert len(multi) == 240
    assert all(f"'{ALL_STAFF}'" in note for note in multi)
    # Devices re-enrol: phones and tablets share serials with DuoSTATION, PCs and Macs not.
    not_enrolled = [r for r in reasons(plan, "device_user") if "is not enrolled" in r]
    assert not_enrolled
    if target_devices:
        devices = dst.device_by_serial()
        for device in intune_device_users(intune):
            there = devices.get(device["serial"])
            if there is not None and device["email"] is not None:
                assert dst.email_of(there["user"]) == device["email"]


def intune_device_users(server: SimServer) -> list[dict[str, Any]]:
    sim = app(server)
    out = []
    for did in sim.ids("devices"):
        record = sim.device(did)
        assert record is not None
        owner = sim.user(record["userId"]) if record["userId"] else None
        out.append({"serial": record["serialNumber"], "email": owner and owner["mail"]})
    return out


# ---------------------------------------------------------------------------- the CLI


def test_cli_plan_dry_run_apply_verify_into_intune(
    duo_sim: Factory,
    intune_sim: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    duo = duo_sim(devices=120, seed=SEED)
    intune = intune_sim(devices=120, seed=SEED)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("TEST_INTUNE_SECRET", INTUNE_SECRET)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    lines = [
        "[tenants.gamla]",
        'vendor = "duostation"',
        f'base_url = "{duo.base_url}"',
        f'username = "{DUO_USER}"',
        f'password = "{DUO_PASSWORD}"',
        "",
        "[tenants.nya]",
        'vendor = "intune"',
    ]
    settings = intune_settings(intune, client_secret="env:TEST_INTUNE_SECRET")
    lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    config = tmp_path / "tenants.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plan_path = tmp_path / "plan.json"

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        assert INTUNE_SECRET not in out + err
        return code, out, err

    code, _, err = run("migrate", "plan", "--from", "gamla", "--to", "nya", "-o", str(plan_path))
    assert code == 0, err
    plan = load_plan(plan_path)
    assert plan.target.vendor == "intune" and plan.writes
    code, out, err = run("migrate", "apply", str(plan_path), "--dry-run")
    assert code == 0, err
    assert app(intune).writes == []  # Graph received no write (a token request is no write)
    code, out, err = run("migrate", "apply", str(plan_path), "--yes")
    assert code == 0, err
    # A membership is one POST of a $ref, changed fields one PATCH.
    expected = len(plan.writes) + sum(
        1 for s in plan.writes if "group_id" in s.fields and len(s.fields) > 1
    )
    assert len(app(intune).writes) == expected
    ledger = tmp_path / "plan.ledger.jsonl"
    code, out, err = run(
        "migrate", "verify", "--from", "gamla", "--to", "nya", "--ledger", str(ledger)
    )
    assert code == 0, (out, err)
    assert "COMPLETE" in out
