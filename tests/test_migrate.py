"""Migration (plan -> apply -> verify) against the live simulators, over real HTTP.

Every count here is taken at the simulator itself (its state, its request counter), never
through the library under test, so a library bug cannot hide behind its own reading.

Seeding: both simulators draw from the same generator, so the same seed gives the same
device serial numbers, group tree and people (e-mails) on both. A target seeded with fewer
devices than the source therefore "already has the re-enrolled devices" of the first N
source devices, and already holds the first 0.8*N people and the whole group tree: the
tests say so (a precondition) and count relative to that.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import mdmbridge
import mdmbridge.migrate as migration
from mdmbridge.errors import ConfigError
from mdmbridge.migrate import Plan, Step, load_plan
from mdmbridge.simulation import SimServer
from tests.conftest import connect_duo, connect_ez

SEED = 7
DEVICES = 300  # 240 users, a 40-group tree three levels deep
TARGET_DEVICES = 60  # the target's "re-enrolled" devices: the first 60 source serials
SEP = " / "
USER_FIELDS_EZ_LACKS = {"account", "account_group", "company", "office", "department", "position"}
GROUP_FIELDS_EZ_LACKS = {
    "number",
    "notes",
    "lost_mode_message",
    "lost_mode_phone_number",
    "lost_mode_footnote",
}

Factory = Callable[..., SimServer]


# ---------------------------------------------------------------------------- views of a side
# What a simulator holds, read from its state, vendor-neutral: groups by their full path
# joined with " / " (DuoSTATION's tree) or by name (ezmdm's flat list, which the migration
# names "path joined with ' / '"), users and devices with their links resolved to names.


@dataclass
class View:
    groups: dict[str, str] = field(default_factory=dict)  # id -> "A / B / C"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> fields
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> serial, user id
    tags: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> name, description, group
    device_tags: list[tuple[str, str]] = field(default_factory=list)  # (serial, tag name)
    user_tags: list[tuple[str, str]] = field(default_factory=list)  # (e-mail, tag name)
    group_tags: list[tuple[str, str]] = field(default_factory=list)  # (group path|"All", tag)

    def group_names(self) -> Counter[str]:
        return Counter(self.groups.values())

    def emails(self) -> Counter[str]:
        return Counter(u["email"] for u in self.users.values())

    def user_by_email(self) -> dict[str, dict[str, Any]]:
        return {u["email"]: u for u in self.users.values()}

    def device_by_serial(self) -> dict[str, dict[str, Any]]:
        return {d["serial"]: d for d in self.devices.values()}

    def email_of(self, user_id: str | None) -> str | None:
        return None if user_id is None else self.users[user_id]["email"]


def duo_view(server: SimServer) -> View:
    app = server.app
    with app.lock:
        groups = {gid: dict(g) for gid, g in app.groups.items()}
        users = {uid: dict(u) for uid, u in app.users.items()}
        devices = {did: dict(d) for did, d in app.devices.items()}
        tags = {tid: dict(t) for tid, t in app.tags.items()}
        device_tags = [dict(link) for link in app.device_tags.values()]
        user_tags = [dict(link) for link in app.user_tags.values()]
        group_tags = [dict(link) for link in app.group_tags.values()]

    def path(group_id: int) -> str:
        names: list[str] = []
        while group_id:
            names.append(groups[group_id]["Name"])
            group_id = groups[group_id].get("ParentId") or 0
        return SEP.join(reversed(names))

    view = View()
    view.groups = {str(gid): path(gid) for gid in groups}
    for uid, user in users.items():
        view.users[str(uid)] = {
            "name": user["Name"],
            "email": user.get("Email"),
            "phone": user.get("PhoneNumber"),
            "group": path(user["GroupId"]) if user.get("GroupId") else None,
            "account": user.get("AccountName"),
            "account_group": user.get("AccountGroup"),
            "company": user.get("Company"),
            "office": user.get("Office"),
            "department": user.get("Department"),
            "position": user.get("Position"),
        }
    for did, device in devices.items():
        owner = device.get("UserId")
        view.devices[did] = {
            "serial": device["SerialNumber"],
            "user": str(owner) if owner else None,
        }
    for tid, tag in tags.items():
        view.tags[str(tid)] = {
            "name": tag["Name"],
            "description": tag.get("Description"),
            "group": path(tag["GroupId"]) if tag.get("GroupId") else None,
        }
    tag_name = {int(tid): t["name"] for tid, t in view.tags.items()}
    view.device_tags = [
        (devices[link["DeviceId"]]["SerialNumber"], tag_name[link["TagId"]]) for link in device_tags
    ]
    view.user_tags = [
        (users[link["UserId"]].get("Email"), tag_name[link["TagId"]]) for link in user_tags
    ]
    view.group_tags = [
        (path(link["GroupId"]) if link["GroupId"] else "All", tag_name[link["TagId"]])
        for link in group_tags
    ]
    return view


def ez_view(server: SimServer) -> View:
    app = server.app
    view = View()
    for gid in app.ids("group"):
        view.groups[gid] = app.record("group", gid)["name"]
    for uid in app.ids("user"):
        user = app.record("user", uid)
        view.users[uid] = {
            "name": user["name"],
            "email": user["email"],
            "phone": user["phone"],
            "group": view.groups[user["groupId"]] if user["groupId"] else None,
        }
    for did in app.ids("device"):
        device = app.record("device", did)
        view.devices[did] = {"serial": device["serialNumber"], "user": device["userId"]}
    return view


VIEWS: dict[str, Callable[[SimServer], View]] = {"duostation": duo_view, "ezmdm": ez_view}


# ---------------------------------------------------------------------------- small helpers


def start(vendor: str, duo_sim: Factory, ez_sim: Factory, **kwargs: Any) -> SimServer:
    return (duo_sim if vendor == "duostation" else ez_sim)(**kwargs)


def connect(vendor: str, server: SimServer, **overrides: Any) -> mdmbridge.Client:
    return (connect_duo if vendor == "duostation" else connect_ez)(server, **overrides)


def outcomes(report: migration.ApplyReport) -> Counter[str]:
    return Counter(r.outcome for r in report.results)


def ledger_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def unfinished(path: Path) -> set[str]:
    """Steps with a ``begin`` line and no ``done`` line."""
    begun: set[str] = set()
    for entry in ledger_lines(path)[1:]:
        if entry["state"] == "begin":
            begun.add(entry["step"])
        else:
            begun.discard(entry["step"])
    return begun


def ledger_targets(path: Path) -> dict[str, str]:
    """Source ref -> target id, from the ledger's ``done`` lines (records, not links)."""
    return {
        e["ref"]: e["target_id"]
        for e in ledger_lines(path)[1:]
        if e["state"] == "done" and not e["step"].endswith(("#update", "#link"))
    }


def resolved_fields(step: Step, targets: dict[str, str]) -> dict[str, Any]:
    out = {}
    for name, value in step.fields.items():
        out[name] = targets[value["$ref"]] if isinstance(value, dict) else value
    return out


def group_of(view: View, user: dict[str, Any]) -> str:
    """The id of the user's group in ``view``."""
    return next(g for g, path in view.groups.items() if path == user["group"])


def no_duplicates(counter: Counter[str]) -> list[str]:
    """The keys held more than once (empty when every record is unique)."""
    return sorted(k for k, n in counter.items() if n > 1)


def assert_migrated(
    src: View, dst: View, before: View, *, links_expected: bool, tags: bool = False
) -> None:
    """The target holds exactly one of each source group (by path) and user (by e-mail),
    each user in the right group with its name intact, and every enrolled device linked."""
    # What the target started with is part of the source (seeded from the same seed).
    assert set(before.group_names()) <= set(src.group_names())
    assert set(before.emails()) <= set(src.emails())

    assert no_duplicates(dst.group_names()) == []
    assert set(dst.group_names()) == set(src.group_names())
    assert len(dst.groups) == len(src.groups)
    assert any(ch in name for name in dst.groups.values() for ch in "åäöÅÄÖ")

    assert no_duplicates(dst.emails()) == []
    assert dst.emails() == src.emails()
    assert len(dst.users) == len(src.users) >= 200
    target_users = dst.user_by_email()
    non_ascii = 0
    for user in src.users.values():
        there = target_users[user["email"]]
        assert there["name"] == user["name"]  # å/ä/ö intact
        assert there["phone"] == user["phone"]
        assert there["group"] == user["group"]
        non_ascii += not user["name"].isascii()
    assert non_ascii > 50

    # Devices are matched by serial number; each enrolled one points at the right person.
    target_devices = dst.device_by_serial()
    checked = 0
    for device in src.devices.values():
        there = target_devices.get(device["serial"])
        if there is None or device["user"] is None:
            continue
        assert dst.email_of(there["user"]) == src.email_of(device["user"]), device["serial"]
        checked += 1
    if links_expected:
        assert checked >= TARGET_DEVICES // 2
    else:
        assert checked == 0

    if tags:

        def tag_rows(view: View) -> list[tuple[Any, ...]]:
            return sorted(tuple(t.values()) for t in view.tags.values())

        assert tag_rows(dst) == tag_rows(src)
        assert no_duplicates(Counter(t["name"] for t in dst.tags.values())) == []
        assert Counter(dst.user_tags) == Counter(src.user_tags)
        assert Counter(dst.group_tags) == Counter(src.group_tags)
        enrolled = set(target_devices)
        wanted = Counter(link for link in src.device_tags if link[0] in enrolled)
        assert Counter(dst.device_tags) == wanted
        if links_expected:
            assert sum(wanted.values()) > 0


# ---------------------------------------------------------------------------- 1. full runs


@pytest.mark.parametrize("target_devices", [0, TARGET_DEVICES], ids=["empty", "enrolled"])
@pytest.mark.parametrize(
    ("source_vendor", "target_vendor"),
    [("duostation", "ezmdm"), ("ezmdm", "duostation"), ("duostation", "duostation")],
    ids=["duo-to-ez", "ez-to-duo", "duo-to-duo"],
)
def test_full_migration_then_verify_is_complete(
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    source_vendor: str,
    target_vendor: str,
    target_devices: int,
) -> None:
    src_server = start(source_vendor, duo_sim, ez_sim, devices=DEVICES, seed=SEED)
    dst_server = start(target_vendor, duo_sim, ez_sim, devices=target_devices, seed=SEED)
    source = connect(source_vendor, src_server, tenant="old", read_only=True)
    target = connect(target_vendor, dst_server, tenant="new")
    before = VIEWS[target_vendor](dst_server)
    removed_device_tags = 0
    if target_vendor == "duostation" and target_devices:
        # Some re-enrolled devices lost their tags in the target: the migration re-links them.
        for link in list(target.device_tags.list())[::2]:
            target.device_tags.unlink(link.id)
            removed_device_tags += 1
    src_server.reset_counts()

    plan = migration.plan(source, target)
    ledger = tmp_path / "plan.ledger.jsonl"
    report = migration.apply(plan, target, ledger=ledger)

    assert report.interrupted is None
    assert report.ok, [r for r in report.results if r.outcome in ("failed", "skipped")][:3]
    assert len(report.results) == len(plan.steps)
    assert report.writes_sent == len(plan.writes) == dst_server.writes() - removed_device_tags
    assert src_server.writes() == 0  # nothing is ever written to the source
    assert migration.verify(source, target, ledger=ledger).complete is True

    src, dst = VIEWS[source_vendor](src_server), VIEWS[target_vendor](dst_server)
    assert_migrated(
        src,
        dst,
        before,
        links_expected=bool(target_devices),
        tags=source_vendor == target_vendor == "duostation",
    )
    if target_devices == 0:  # everything was created, in dependency order
        assert Counter(s.action for s in plan.steps if s.kind in ("group", "user")) == {
            "create": len(src.groups) + len(src.users)
        }
    else:  # the records the target already had were reused, not created again
        reused = {s.ref for s in plan.steps if s.action == "reuse"}
        assert len([r for r in reused if r.startswith("group:")]) == len(before.groups)
        assert len([r for r in reused if r.startswith("user:")]) == len(before.users)
        assert any(s.kind == "device_user" and s.action == "link" for s in plan.steps)


def test_duo_to_ez_lists_what_ezmdm_cannot_hold(duo_sim: Factory, ez_sim: Factory) -> None:
    src_server = duo_sim(devices=DEVICES, seed=SEED)
    dst_server = ez_sim(devices=TARGET_DEVICES, seed=SEED)
    plan = migration.plan(connect_duo(src_server, read_only=True), connect_ez(dst_server))
    src = duo_view(src_server)
    notes: dict[str, list[Any]] = {}
    for note in plan.not_migrated:
        notes.setdefault(note.ref, []).append(note)

    # Every tag, with a reason naming it; none of them planned as a write.
    for tag_id, tag in src.tags.items():
        (note,) = notes[f"tag:{tag_id}"]
        assert note.kind == "tag"
        assert "ezmdm has no tags" in note.reason and tag["name"] in note.reason
    assert not any(s.kind in ("tag", "device_tag", "user_tag", "group_tag") for s in plan.steps)

    # Every user's fields ezmdm lacks, by name, and the reason says which.
    for user_id in src.users:
        (note,) = [n for n in notes[f"user:{user_id}"] if n.fields]
        assert set(note.fields) == USER_FIELDS_EZ_LACKS
        assert note.reason.startswith("ezmdm users cannot hold")
        assert all(name in note.reason for name in USER_FIELDS_EZ_LACKS)

    # Group numbers everywhere; notes and lost mode where the source group has them.
    top = {gid for gid, name in src.groups.items() if SEP not in name}
    for group_id in src.groups:
        (note,) = notes[f"group:{group_id}"]
        expected = GROUP_FIELDS_EZ_LACKS if group_id in top else {"number"}
        assert set(note.fields) == expected
        assert "ezmdm groups cannot hold" in note.reason

    # Devices not (yet) re-enrolled in the target: said so, with the serial number.
    enrolled = {d["serial"] for d in ez_view(dst_server).devices.values()}
    owned_elsewhere = [
        d for did, d in src.devices.items() if d["user"] and d["serial"] not in enrolled
    ]
    device_notes = [n for n in plan.not_migrated if n.kind == "device_user"]
    assert len(device_notes) == len(owned_elsewhere) > 0
    assert all("not enrolled in the target" in n.reason for n in device_notes)

    # The ezmdm group names are the paths joined with " / ", with å/ä/ö as they were.
    names = {s.fields["name"] for s in plan.steps if s.kind == "group" and s.action == "create"}
    reused = {s.target_id for s in plan.steps if s.kind == "group" and s.action == "reuse"}
    assert names | {dst_server.app.record("group", g)["name"] for g in reused} == set(
        src.groups.values()
    )


def test_ez_group_names_are_the_path_joined(duo_sim: Factory, ez_sim: Factory) -> None:
    src_server = duo_sim(devices=20, seed=SEED)
    dst_server = ez_sim()
    plan = migration.plan(connect_duo(src_server, read_only=True), connect_ez(dst_server))
    expected = sorted(duo_view(src_server).groups.values())
    assert sorted(s.fields["name"] for s in plan.steps if s.kind == "group") == expected
    assert all(s.fields.get("parent_id") is None for s in plan.steps if s.kind == "group")
    # A separator of the caller's choice.
    other = migration.plan(
        connect_duo(src_server, read_only=True),
        connect_ez(dst_server),
        options=migration.PlanOptions(group_separator=" » "),
    )
    assert sorted(s.fields["name"] for s in other.steps if s.kind == "group") == sorted(
        e.replace(SEP, " » ") for e in expected
    )
    report = migration.apply(other, connect_ez(dst_server), ledger=None)
    assert report.ok
    assert sorted(ez_view(dst_server).groups.values()) == sorted(
        e.replace(SEP, " » ") for e in expected
    )


def test_ez_to_duo_rebuilds_the_tree_parents_first(duo_sim: Factory, ez_sim: Factory) -> None:
    src_server = ez_sim(devices=40, seed=SEED)
    dst_server = duo_sim()
    plan = migration.plan(connect_ez(src_server, read_only=True), connect_duo(dst_server))
    groups = [s for s in plan.steps if s.kind == "group"]
    seen: set[str] = set()
    for step in groups:  # parents before children, children point at their parent's step
        assert set(step.depends_on) <= seen
        seen.add(step.ref)
    assert max(len(s.depends_on) for s in groups) == 1
    assert migration.apply(plan, connect_duo(dst_server), ledger=None).ok
    app = dst_server.app
    depth = Counter(len(p.split(SEP)) for p in duo_view(dst_server).groups.values())
    assert depth == {1: 4, 2: 12, 3: 24}
    for group in app.groups.values():  # names are the last segment only
        assert SEP not in group["Name"]


# ---------------------------------------------------------------------------- 2. resume


@pytest.mark.parametrize(
    ("source_vendor", "target_vendor"),
    [("duostation", "ezmdm"), ("ezmdm", "duostation")],
    ids=["duo-to-ez", "ez-to-duo"],
)
def test_dropped_connection_stops_cleanly_and_a_rerun_completes(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path, source_vendor: str, target_vendor: str
) -> None:
    src_server = start(source_vendor, duo_sim, ez_sim, devices=DEVICES, seed=SEED)
    dst_server = start(target_vendor, duo_sim, ez_sim)
    source = connect(source_vendor, src_server, read_only=True)
    target = connect(target_vendor, dst_server, retries=0)
    plan = migration.plan(source, target)
    ledger = tmp_path / "ledger.jsonl"
    dst_server.faults.add("drop", methods=["PUT", "POST"], after=57, times=1)

    first = migration.apply(plan, target, ledger=ledger)  # no exception escapes

    assert first.interrupted is not None and "unknown" in first.interrupted
    assert not first.ok
    assert dst_server.writes() == 58  # 57 landed, the 58th was dropped unanswered
    held = VIEWS[target_vendor](dst_server)
    assert len(held.groups) + len(held.users) == 57
    assert len(first.results) == 57 < len(plan.steps)
    (cut,) = unfinished(ledger)  # the step in flight: begun, never done
    assert cut == plan.steps[57].id

    second = migration.apply(plan, target, ledger=ledger)

    assert second.interrupted is None and second.ok
    got = outcomes(second)
    assert got["already done"] == 57
    assert got["done"] == len(plan.steps) - 57
    assert second.writes_sent == len(plan.steps) - 57
    assert unfinished(ledger) == set()
    src, dst = VIEWS[source_vendor](src_server), VIEWS[target_vendor](dst_server)
    assert no_duplicates(dst.group_names()) == [] and no_duplicates(dst.emails()) == []
    assert dst.group_names() == Counter(set(src.group_names()))
    assert dst.emails() == src.emails()
    assert migration.verify(source, target, ledger=ledger).complete is True


@pytest.mark.parametrize(
    ("source_vendor", "target_vendor", "create_method"),
    [("duostation", "ezmdm", "PUT"), ("ezmdm", "duostation", "POST")],
    ids=["duo-to-ez", "ez-to-duo"],
)
# (DuoSTATION answers a create with the bare new id: ids of two digits or more, so that
# half of the answer is really cut off.)
@pytest.mark.parametrize("after", [12, 52], ids=["group", "user"])
def test_cut_off_answer_to_a_write_that_landed_is_adopted(
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    source_vendor: str,
    target_vendor: str,
    create_method: str,
    after: int,
) -> None:
    src_server = start(source_vendor, duo_sim, ez_sim, devices=80, seed=SEED)
    dst_server = start(target_vendor, duo_sim, ez_sim)
    source = connect(source_vendor, src_server, read_only=True)
    target = connect(target_vendor, dst_server, retries=0)
    plan = migration.plan(source, target)
    ledger = tmp_path / "ledger.jsonl"
    dst_server.faults.add("truncate", methods=[create_method], after=after, times=1)

    report = migration.apply(plan, target, ledger=ledger)

    assert report.interrupted is None and report.ok
    (adopted,) = [r for r in report.results if r.outcome == "adopted"]
    assert adopted.step == plan.steps[after].id
    assert adopted.kind == ("group" if after < 40 else "user")
    assert dst_server.writes() == len(plan.steps)  # the cut-off write was not sent again
    dst = VIEWS[target_vendor](dst_server)
    if adopted.kind == "group":
        assert adopted.target_id in dst.groups
        assert dst.group_names()[dst.groups[adopted.target_id]] == 1
    else:
        assert adopted.target_id in dst.users
        assert dst.emails()[dst.users[adopted.target_id]["email"]] == 1
    assert no_duplicates(dst.group_names()) == [] and no_duplicates(dst.emails()) == []
    src = VIEWS[source_vendor](src_server)
    assert len(dst.groups) == len(src.groups) and len(dst.users) == len(src.users)
    assert migration.verify(source, target, ledger=ledger).complete is True


@pytest.mark.parametrize(
    ("source_vendor", "target_vendor", "kind"),
    [
        ("duostation", "ezmdm", "user"),
        ("ezmdm", "duostation", "group"),
        ("ezmdm", "duostation", "user"),
    ],
    ids=["user-on-ez", "nested-group-on-duo", "user-on-duo"],
)
def test_crash_between_begin_and_done(
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    source_vendor: str,
    target_vendor: str,
    kind: str,
) -> None:
    src_server = start(source_vendor, duo_sim, ez_sim, devices=60, seed=SEED)
    dst_server = start(target_vendor, duo_sim, ez_sim)
    source = connect(source_vendor, src_server, read_only=True)
    target = connect(target_vendor, dst_server)
    plan = migration.plan(source, target)
    # The two steps "in flight" when the process died: one of them had landed.
    candidates = [
        i
        for i, s in enumerate(plan.steps)
        if s.kind == kind and s.action == "create" and s.depends_on
    ]
    landed, lost = plan.steps[candidates[3]], plan.steps[candidates[3] + 1]
    assert lost.kind == kind and lost.action == "create"
    ledger = tmp_path / "ledger.jsonl"
    first = migration.apply(
        plan.model_copy(update={"steps": plan.steps[: candidates[3]]}), target, ledger=ledger
    )
    assert first.ok
    fields = resolved_fields(landed, ledger_targets(ledger))
    namespace = target.users if kind == "user" else target.groups
    made = namespace.create(**fields)  # as if the write had landed just before the crash
    with ledger.open("a", encoding="utf-8") as handle:
        for step in (landed, lost):
            handle.write(json.dumps({"step": step.id, "state": "begin", "at": "x"}) + "\n")
    held = VIEWS[target_vendor](dst_server)
    dst_server.reset_counts()

    report = migration.apply(plan, target, ledger=ledger)

    assert report.ok
    by_step = {r.step: r for r in report.results}
    assert by_step[landed.id].outcome == "adopted"
    assert by_step[landed.id].target_id == made.id
    assert by_step[lost.id].outcome == "done"
    assert report.writes_sent == len(plan.steps) - candidates[3] - 1
    dst = VIEWS[target_vendor](dst_server)
    if kind == "user":
        assert len(dst.users) == len(held.users) + report.writes_sent
        assert dst.emails()[fields["email"]] == 1
        assert dst.emails()[lost.fields["email"]] == 1
    else:
        assert len(dst.groups) == len(held.groups) + report.writes_sent - sum(
            1 for s in plan.steps if s.kind == "user"
        )
        assert no_duplicates(dst.group_names()) == []
    assert no_duplicates(dst.emails()) == [] and no_duplicates(dst.group_names()) == []
    assert migration.verify(source, target, ledger=ledger).complete is True


def test_torn_last_ledger_line_is_ignored(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path
) -> None:
    src_server, dst_server = duo_sim(devices=20, seed=SEED), ez_sim()
    target = connect_ez(dst_server)
    plan = migration.plan(connect_duo(src_server, read_only=True), target)
    ledger = tmp_path / "ledger.jsonl"
    assert migration.apply(
        plan.model_copy(update={"steps": plan.steps[:5]}), target, ledger=ledger
    ).ok
    with ledger.open("a", encoding="utf-8") as handle:
        handle.write('{"step": "group:6", "sta')  # the crash hit mid-line
    report = migration.apply(plan, target, ledger=ledger)
    assert report.ok and outcomes(report)["already done"] == 5
    assert no_duplicates(ez_view(dst_server).group_names()) == []


# ---------------------------------------------------------------------------- 5. idempotence


def test_apply_twice_writes_nothing_the_second_time(duo_sim: Factory, tmp_path: Path) -> None:
    src_server = duo_sim(devices=DEVICES, seed=SEED)
    dst_server = duo_sim(devices=TARGET_DEVICES, seed=SEED)
    source, target = connect_duo(src_server, read_only=True), connect_duo(dst_server)
    plan = migration.plan(source, target)
    ledger = tmp_path / "ledger.jsonl"
    assert migration.apply(plan, target, ledger=ledger).ok
    writes = dst_server.writes()
    assert writes > 200
    lines = len(ledger_lines(ledger))

    again = migration.apply(plan, target, ledger=ledger)

    assert dst_server.writes() == writes
    assert again.writes_sent == 0 and again.ok
    assert outcomes(again) == {"already done": len(plan.steps)}
    assert len(ledger_lines(ledger)) == lines  # nothing new to record
    # Planned afresh, with or without the ledger, nothing is left to write.
    assert (
        migration.plan(source, target, ledger=ledger).writes == []
    )  # only write-free reuse steps remain
    fresh = migration.plan(source, target)
    assert fresh.writes == [] and fresh.ambiguous == []
    assert migration.apply(fresh, target, ledger=tmp_path / "other.jsonl").writes_sent == 0
    assert dst_server.writes() == writes


# ---------------------------------------------------------------------------- 6. dry run


@pytest.mark.parametrize("target_devices", [0, TARGET_DEVICES], ids=["empty", "enrolled"])
def test_dry_run_writes_nothing(duo_sim: Factory, tmp_path: Path, target_devices: int) -> None:
    src_server = duo_sim(devices=DEVICES, seed=SEED)
    dst_server = duo_sim(devices=target_devices, seed=SEED)
    source = connect_duo(src_server, read_only=True)
    plan = migration.plan(source, connect_duo(dst_server))
    dst_server.reset_counts()
    ledger = tmp_path / "ledger.jsonl"

    report = migration.apply(
        plan, connect_duo(dst_server, read_only=True), ledger=ledger, dry_run=True
    )

    assert dst_server.writes() == 0
    assert not ledger.exists()
    assert report.dry_run and report.ledger is None and report.writes_sent == 0
    got = outcomes(report)
    assert got["would write"] == len(plan.writes) > 0
    assert got["would write"] + got["reused"] == len(plan.steps)
    assert report.ok
    json.loads(report.to_json())


def test_dry_run_with_a_writing_client_is_refused(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path
) -> None:
    src_server, dst_server = duo_sim(devices=30, seed=SEED), ez_sim()
    target = connect_ez(dst_server)
    plan = migration.plan(connect_duo(src_server, read_only=True), target)
    dst_server.reset_counts()
    ledger = tmp_path / "ledger.jsonl"
    with pytest.raises(ConfigError, match="read-only"):
        migration.apply(plan, target, ledger=ledger, dry_run=True)
    assert dst_server.count() == 0 and not ledger.exists()


# ---------------------------------------------------------------------------- 7. conflicts


def test_user_already_in_the_target_is_reused_and_updated(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path
) -> None:
    src_server = duo_sim(devices=DEVICES, seed=SEED)
    dst_server = ez_sim(devices=TARGET_DEVICES, seed=SEED)  # the group tree is there already
    source, target = connect_duo(src_server, read_only=True), connect_ez(dst_server)
    src, before = duo_view(src_server), ez_view(dst_server)
    source_id, person = next(
        (i, u) for i, u in src.users.items() if u["email"] not in before.emails()
    )
    there = target.users.create(name=person["name"], email=person["email"], phone="+46701111111")

    plan = migration.plan(source, target)

    steps = {s.id: s for s in plan.steps}
    ref = f"user:{source_id}"
    assert steps[ref].action == "reuse" and steps[ref].target_id == there.id
    assert "e-mail" in steps[ref].reason
    update = steps[f"{ref}#update"]
    assert update.action == "update" and update.target_id == there.id
    group_id = next(g for g, name in before.groups.items() if name == person["group"])
    assert update.fields == {"phone": person["phone"], "group_id": {"$ref": update.depends_on[0]}}
    assert steps[update.depends_on[0]].target_id == group_id
    assert not [s for s in plan.steps if s.ref == ref and s.action == "create"]
    assert migration.apply(plan, target, ledger=tmp_path / "l.jsonl").ok
    dst = ez_view(dst_server)
    assert dst.emails()[person["email"]] == 1 and no_duplicates(dst.emails()) == []
    assert dst.users[there.id]["phone"] == person["phone"]
    assert dst.users[there.id]["group"] == person["group"]
    assert len(dst.users) == len(src.users)


def test_reused_user_is_put_into_a_group_the_same_run_creates(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path
) -> None:
    src_server, dst_server = duo_sim(devices=30, seed=SEED), ez_sim()  # no groups yet
    source, target = connect_duo(src_server, read_only=True), connect_ez(dst_server)
    src = duo_view(src_server)
    source_id, person = next(iter(src.users.items()))
    there = target.users.create(name=person["name"], email=person["email"])
    ledger = tmp_path / "l.jsonl"

    plan = migration.plan(source, target)

    steps = {s.id: s for s in plan.steps}
    assert steps[f"user:{source_id}"].action == "reuse"
    update = steps[f"user:{source_id}#update"]  # (there is one: the phone differs)
    assert update.fields.get("group_id") == {"$ref": f"group:{group_of(src, person)}"}
    assert migration.apply(plan, target, ledger=ledger).ok
    assert ez_view(dst_server).users[there.id]["group"] == person["group"]
    assert migration.verify(source, target, ledger=ledger).complete is True


def test_link_made_in_the_target_meanwhile_is_adopted_not_failed(
    duo_sim: Factory, tmp_path: Path
) -> None:
    src_server = duo_sim(devices=DEVICES, seed=SEED)
    dst_server = duo_sim(devices=TARGET_DEVICES, seed=SEED)
    source, target = connect_duo(src_server, read_only=True), connect_duo(dst_server)
    for link in list(target.device_tags.list())[:3]:
        target.device_tags.unlink(link.id)
    plan = migration.plan(source, target)
    links = [s for s in plan.steps if s.kind == "device_tag"]
    assert len(links) == 3
    # Between planning and applying, someone re-tags one device by hand: the vendor says 409.
    first = links[0]
    target.device_tags.link(
        device_id=first.fields["target_id"], tag_id=first.fields["tag_id"]["$ref"].split(":")[1]
    )
    report = migration.apply(plan, target, ledger=tmp_path / "l.jsonl")
    assert report.ok
    by_step = {r.step: r for r in report.results}
    assert by_step[first.id].outcome == "adopted"
    assert [by_step[s.id].outcome for s in links[1:]] == ["done", "done"]
    dst = duo_view(dst_server)
    assert no_duplicates(Counter(dst.device_tags)) == []


def test_two_target_groups_with_the_same_path_are_ambiguous(
    duo_sim: Factory, tmp_path: Path
) -> None:
    src_server, dst_server = duo_sim(devices=40, seed=SEED), duo_sim()
    source, target = connect_duo(src_server, read_only=True), connect_duo(dst_server)
    src = duo_view(src_server)
    group_id, path = next((g, p) for g, p in src.groups.items() if p.count(SEP) == 1)
    city, dept = path.split(SEP)
    # A user sits in the middle group itself too, not only in its leaves.
    writer = connect_duo(src_server)
    writer.users.create(name="Ärla Östlund", email="arla.ostlund@example.se", group_id=group_id)
    src = duo_view(src_server)
    top = target.groups.create(name=city)
    twins = {target.groups.create(name=dept, parent_id=top.id).id for _ in range(2)}

    plan = migration.plan(source, target)

    ref = f"group:{group_id}"
    (note,) = [n for n in plan.ambiguous if n.ref == ref]
    assert note.kind == "group" and "not guessing" in note.reason
    assert all(t in note.reason for t in twins)
    used = {s.target_id for s in plan.steps} | {
        v for s in plan.steps for v in s.fields.values() if isinstance(v, str)
    }
    assert not used & twins
    assert not [s for s in plan.steps if s.ref == ref]
    below = {g for g, p in src.groups.items() if p.startswith(path + SEP)}
    skipped_users = {
        u
        for u, user in src.users.items()
        if user["group"] and (user["group"] == path or user["group"].startswith(path + SEP))
    }
    assert len(below) == 2 and len(skipped_users) > 1
    reasons = {n.ref: n.reason for n in plan.not_migrated}
    for child in below:
        assert "not migrated" in reasons[f"group:{child}"]
        assert not [s for s in plan.steps if s.ref == f"group:{child}"]
    for user_id in skipped_users:
        assert "not migrated" in reasons[f"user:{user_id}"]
        assert not [s for s in plan.steps if s.ref == f"user:{user_id}"]

    assert migration.apply(plan, target, ledger=tmp_path / "l.jsonl").ok
    dst = duo_view(dst_server)
    assert dst.group_names()[path] == 2  # untouched: still the two twins, nothing under them
    assert not [p for p in dst.groups.values() if p.startswith(path + SEP)]
    emails = dst.emails()
    assert not [u for u in skipped_users if src.users[u]["email"] in emails]
    check = migration.verify(source, target, ledger=tmp_path / "l.jsonl")
    assert check.complete is False and [a["ref"] for a in check.ambiguous] == [ref]


def test_two_source_users_with_the_same_email_are_reported_not_guessed(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path
) -> None:
    src_server, dst_server = duo_sim(devices=20, seed=SEED), ez_sim()
    writer = connect_duo(src_server)
    twins = {
        f"user:{writer.users.create(name=name, email='delad.adress@example.se').id}"
        for name in ("Åke Delad", "Åsa Delad")
    }
    source, target = connect_duo(src_server, read_only=True), connect_ez(dst_server)

    plan = migration.plan(source, target)

    assert {n.ref for n in plan.ambiguous} >= twins
    assert not [s for s in plan.steps if s.ref in twins]
    migration.apply(plan, target, ledger=tmp_path / "l.jsonl")
    assert ez_view(dst_server).emails()["delad.adress@example.se"] <= 1


# ---------------------------------------------------------------------------- 8. the plan file


def test_plan_file_round_trips_and_is_stable(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path
) -> None:
    src_server = duo_sim(devices=80, seed=SEED)
    dst_server = ez_sim(devices=20, seed=SEED)
    source, target = connect_duo(src_server, read_only=True), connect_ez(dst_server)
    first, second = migration.plan(source, target), migration.plan(source, target)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    first.save(a)
    second.save(b)

    loaded = load_plan(a)
    assert loaded == first
    assert loaded.steps and loaded.not_migrated
    assert first.steps == second.steps
    assert first.not_migrated == second.not_migrated and first.ambiguous == second.ambiguous
    assert first.digest() == second.digest()

    def without_date(path: Path) -> list[str]:
        return [line for line in path.read_text("utf-8").splitlines() if '"created_at"' not in line]

    assert without_date(a) == without_date(b)  # diffable: only the date differs
    text = a.read_text("utf-8")
    assert "Göteborg" in text  # readable, not \u-escaped
    document = json.loads(text)
    assert document["summary"] == first.summary()
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],
        lambda text: text.replace('"kind": "user"', '"kind": "printer"', 1),
        lambda text: text.replace('"mdmbridge-migration-plan"', '"something-else"'),
        lambda text: "\udcff",
    ],
    ids=["torn", "bad-kind", "not-a-plan", "not-utf8"],
)
def test_damaged_plan_file_is_one_config_error_line(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path, damage: Callable[[str], str]
) -> None:
    plan = migration.plan(
        connect_duo(duo_sim(devices=10, seed=SEED), read_only=True), connect_ez(ez_sim())
    )
    path = tmp_path / "plan.json"
    plan.save(path)
    path.write_bytes(damage(path.read_text("utf-8")).encode("utf-8", "surrogateescape"))
    with pytest.raises(ConfigError) as info:
        load_plan(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="no plan file"):
        load_plan(tmp_path / "missing.json")


def test_plan_for_another_tenant_is_refused(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path
) -> None:
    src_server, dst_server = duo_sim(devices=20, seed=SEED), ez_sim()
    plan = migration.plan(
        connect_duo(src_server, read_only=True), connect_ez(dst_server, tenant="ez-a")
    )
    other_server = ez_sim()
    ledger = tmp_path / "ledger.jsonl"
    for wrong in (
        connect_ez(other_server, tenant="ez-b"),
        connect_duo(duo_sim(), tenant="ez-a"),  # right name, wrong vendor
    ):
        with pytest.raises(ConfigError, match="ezmdm:ez-a"):
            migration.apply(plan, wrong, ledger=ledger)
    assert other_server.count() == 0 and not ledger.exists()
    # A ledger belongs to one migration: another plan cannot continue from it.
    assert migration.apply(plan, connect_ez(dst_server, tenant="ez-a"), ledger=ledger).ok
    stranger = Plan.model_validate(
        plan.model_dump() | {"source": {"tenant": "x", "vendor": "duostation"}}
    )
    dst_server.reset_counts()
    with pytest.raises(ConfigError, match="belongs to a migration"):
        migration.apply(stranger, connect_ez(dst_server, tenant="ez-a"), ledger=ledger)
    assert dst_server.writes() == 0


def test_source_duplicates_of_tag_names_and_serials_are_reported_not_guessed(
    duo_sim: Callable[..., SimServer],
) -> None:
    """Two source tags with one name, or two source devices with one serial, cannot be told
    apart in the target: both are ambiguous, none is guessed."""
    source_server = duo_sim(devices=12, seed=7)
    target_server = duo_sim(devices=12, seed=7)
    source = connect_duo(source_server)
    source.tags.create(name="Dubblett")
    source.tags.create(name="dubblett")
    devices = list(source.devices.list())
    twin = next(d for d in devices if d.user_id)
    app = source_server.app
    with app.lock:  # a second device reporting the same serial (a re-used or mistyped serial)
        copy = dict(app.devices[twin.id])
        copy["Id"] = "00000000-0000-4000-8000-0000000000aa"
        app.devices[copy["Id"]] = copy
    plan = mdmbridge.migrate.plan(source, connect_duo(target_server))
    ambiguous = {note.ref for note in plan.ambiguous}
    dubletter = [t.id for t in source.tags.list() if t.name.casefold() == "dubblett"]
    assert {f"tag:{i}" for i in dubletter} <= ambiguous
    assert (
        f"device:{twin.id}" in ambiguous
        and "device:00000000-0000-4000-8000-0000000000aa" in ambiguous
    )
    assert not any(s.ref in ambiguous for s in plan.steps)


def test_fixing_what_verify_finds_through_the_same_ledger(
    duo_sim: Callable[..., SimServer], tmp_path: Path
) -> None:
    """verify finds a drift; a plan made through the ledger fixes it; applied with the same
    ledger, the fix is sent (updates count as done only for the plan that did them)."""
    source = connect_duo(duo_sim(devices=30, seed=21))
    target_server = duo_sim(devices=0, seed=22)
    target = connect_duo(target_server)
    ledger = tmp_path / "ledger.jsonl"
    first = migration.plan(source, target)
    assert migration.apply(first, target, ledger=ledger).ok
    assert migration.verify(source, target, ledger=ledger).complete

    moved = next(u for u in target.users.list() if u.group_id)
    other_group = next(g for g in target.groups.list() if g.id != moved.group_id)
    target.users.update(moved.id, group_id=other_group.id)  # someone moves a user by hand
    drift = migration.verify(source, target, ledger=ledger)
    assert not drift.complete and [d["fields"] for d in drift.different] == [["group_id"]]

    fix = migration.plan(source, target, ledger=ledger)
    assert [(s.kind, s.action) for s in fix.writes] == [("user", "update")]
    dry = migration.apply(
        fix, connect_duo(target_server, read_only=True), ledger=ledger, dry_run=True
    )
    assert dry.counts().get("would write") == 1  # the dry run reads the ledger: only the fix
    before = target_server.writes()
    report = migration.apply(fix, target, ledger=ledger)
    assert report.ok and target_server.writes() - before == 1
    assert migration.verify(source, target, ledger=ledger).complete


def test_dry_run_of_a_finished_migration_would_write_nothing(
    duo_sim: Callable[..., SimServer], tmp_path: Path
) -> None:
    source = connect_duo(duo_sim(devices=20, seed=23))
    target_server = duo_sim(devices=0, seed=24)
    target = connect_duo(target_server)
    ledger = tmp_path / "ledger.jsonl"
    plan = migration.plan(source, target)
    assert migration.apply(plan, target, ledger=ledger).ok
    size = ledger.stat().st_size
    dry = migration.apply(
        plan, connect_duo(target_server, read_only=True), ledger=ledger, dry_run=True
    )
    assert "would write" not in dry.counts() and dry.writes_sent == 0
    assert ledger.stat().st_size == size  # read, never written


def test_apps_are_listed_as_not_migrated(duo_sim: Callable[..., SimServer]) -> None:
    source = connect_duo(duo_sim(devices=5, seed=25))
    plan = migration.plan(source, connect_duo(duo_sim(devices=0, seed=26)))
    apps = [n for n in plan.not_migrated if n.kind == "app"]
    assert len(apps) == len(list(source.apps.list())) > 0
    assert all("catalogue" in n.reason for n in apps)
