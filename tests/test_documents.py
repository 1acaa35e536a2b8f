"""The shared file mechanisms under migrate and bulk: plan and report documents
(mdmbridge/documents.py) and the append-only ledger file (mdmbridge/ledger_file.py).

Real files in tmp_path, real fsync'd appends, and ledgers in the exact form the code wrote
before these were shared (so a ledger written by an earlier release still loads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mdmbridge import documents
from mdmbridge.bulk.ledger import BulkLedger
from mdmbridge.bulk.model import BulkPlan, SendAction, Target
from mdmbridge.bulk.model import load_plan as load_bulk_plan
from mdmbridge.errors import ConfigError
from mdmbridge.ledger_file import LedgerFile, read_events
from mdmbridge.migrate.ledger import Ledger, read_header, read_targets
from mdmbridge.migrate.model import Note, Plan, Side, Step
from mdmbridge.migrate.model import load_plan as load_migration_plan

# Text a plan holds that json and msgspec could write differently: non-ASCII, a Unicode line
# separator, control characters, quotes and backslashes.
AWKWARD = 'Åsa "Öberg" \u2028 tab\t back\\slash \x01 😀'


def migration_plan() -> Plan:
    steps = [
        Step(
            id=f"user:{n}#create",
            ref=f"user:{n}",
            kind="user",
            action="create",
            reason="not in the target",
            fields={"name": f"{AWKWARD} {n}", "group_id": {"$ref": "group:1"}, "phone": None},
            match={"email": f"u{n}@example.se"},
            depends_on=["group:1"],
        )
        for n in range(3)
    ]
    note = Note(ref="user:9", kind="user", reason="no phone", fields=["phone"])
    return Plan(
        source=Side(tenant="old", vendor="ezmdm"),
        target=Side(tenant="new", vendor="intune"),
        created_at="2026-01-01T00:00:00Z",
        steps=steps,
        not_migrated=[note],
    )


def bulk_plan() -> BulkPlan:
    targets = [
        Target(key=f"acme/{n}", tenant="acme", vendor="duostation", device_id=str(n), user=AWKWARD)
        for n in range(3)
    ]
    action = SendAction(command="message", params={"message": AWKWARD})
    return BulkPlan(created_at="2026-01-01T00:00:00Z", action=action, targets=targets)


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize("make", [migration_plan, bulk_plan], ids=["migrate", "bulk"])
def test_a_saved_plan_is_the_text_json_dumps_wrote(
    tmp_path: Path, make: Callable[[], Plan | BulkPlan]
) -> None:
    plan = make()
    path = tmp_path / "plan.json"
    plan.save(path)
    expected = plan.model_dump(mode="json") | {"summary": plan.summary()}
    text = path.read_bytes().decode("utf-8")
    assert text == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
    assert not list(tmp_path.glob(".*partial"))


def test_plans_load_back_equal_with_the_same_digest(tmp_path: Path) -> None:
    migration, bulk = migration_plan(), bulk_plan()
    migration.save(tmp_path / "m.json")
    bulk.save(tmp_path / "b.json")
    assert load_migration_plan(tmp_path / "m.json") == migration
    assert load_bulk_plan(tmp_path / "b.json") == bulk
    assert load_migration_plan(tmp_path / "m.json").digest() == migration.digest()
    assert load_bulk_plan(tmp_path / "b.json").digest() == bulk.digest()


def test_the_digest_ignores_the_creation_time_only() -> None:
    plan = migration_plan()
    later = plan.model_copy(update={"created_at": "2027-01-01T00:00:00Z"})
    assert later.digest() == plan.digest()
    edited = plan.model_copy(update={"steps": plan.steps[:2]})
    assert edited.digest() != plan.digest()


def test_reports_are_the_text_json_dumps_wrote() -> None:
    document = {
        "counts": {1: 2, "done": 3},  # a non-str key, as json.dumps turned it into text
        "items": [],
        "nested": {"empty": {}, "list": [{"x": None, "y": True}]},
        "seconds": 0.001,
        "text": AWKWARD,
    }
    assert documents.dumps(document) == json.dumps(document, ensure_ascii=False, indent=2)


def test_a_plan_that_cannot_be_written_is_one_config_error_and_keeps_the_old(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.json"
    path.write_text("the plan reviewed yesterday\n", encoding="utf-8")
    blocker = tmp_path / ".plan.json.partial"
    blocker.mkdir()  # the staging file cannot be written
    with pytest.raises(ConfigError, match="cannot write the plan") as caught:
        migration_plan().save(path)
    assert "\n" not in str(caught.value)
    assert path.read_text(encoding="utf-8") == "the plan reviewed yesterday\n"
    with pytest.raises(ConfigError, match="cannot write the plan"):
        bulk_plan().save(tmp_path / "not-a-folder" / "x.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no plan file at"),
        (b"{not json", "not a readable plan"),
        (b"\xff\xfe", "not a readable plan"),
        (b'{"format": "mdmbridge-bulk-plan"}', "not an mdmbridge migration plan"),
        (b'{"format": "mdmbridge-migration-plan", "steps": 3}', "the plan is damaged"),
    ],
)
def test_a_bad_plan_file_is_one_config_error_line(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_migration_plan(path)
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------- the ledger file


def test_each_append_is_one_whole_line_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = LedgerFile(path)
    assert ledger.empty_at_open
    ledger.append({"step": "a", "name": AWKWARD})
    ledger.append({"step": "b"})
    # On disk before close: another reader sees both lines now.
    assert list(read_events(path)) == [{"step": "a", "name": AWKWARD}, {"step": "b"}]
    ledger.close()
    assert path.read_bytes().count(b"\n") == 2
    assert not LedgerFile(path).empty_at_open


def test_reading_skips_blanks_ignores_a_torn_tail_and_refuses_damage(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"b": 2}\n{"c": ')
    assert list(read_events(path)) == [{"a": 1}, {"b": 2}]
    path.write_bytes(b'{"a": 1}\n[1, 2]\n{"b": 2}\n')
    with pytest.raises(ConfigError, match="line 2 is damaged"):
        list(read_events(path))
    path.write_bytes(b'{"a": 1}\n\xff\n{"b": 2}\n')
    with pytest.raises(ConfigError, match="line 2 is damaged"):
        list(read_events(path))


def test_a_locked_ledger_file_is_refused_until_closed(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    first = LedgerFile(path, lock="locked: another apply is running")
    with pytest.raises(ConfigError, match="locked: another apply is running"):
        LedgerFile(path, lock="locked: another apply is running")
    first.close()
    LedgerFile(path, lock="locked: another apply is running").close()


def test_an_unwritable_ledger_is_one_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot write the ledger"):
        LedgerFile(tmp_path / "missing-folder" / "l.jsonl")


# --------------------------------------------------------------------------- both ledgers


def test_a_migration_ledger_as_written_before_still_loads(tmp_path: Path) -> None:
    """The lines exactly as the text-mode writer wrote them (json.dumps, ensure_ascii=False),
    a name holding U+2028 included, and a torn last line."""
    plan = migration_plan()
    digest = plan.digest()
    lines = [
        {
            "format": "mdmbridge-migration-ledger",
            "source": plan.source.model_dump(),
            "target": plan.target.model_dump(),
            "options": plan.options.model_dump(),
        },
        {"step": "user:0#create", "state": "begin", "plan": digest, "at": "2026-01-01T00:00:00Z"},
        {
            "step": "user:0#create",
            "ref": "user:0",
            "state": "done",
            "target_id": "t-0",
            "how": f"created {AWKWARD}",
            "plan": digest,
            "at": "2026-01-01T00:00:01Z",
        },
        {"step": "user:1#create", "state": "begin", "plan": digest, "at": "2026-01-01T00:00:02Z"},
    ]
    path = tmp_path / "plan.ledger.jsonl"
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    path.write_text(text + '{"step": "user:2#cr', encoding="utf-8")
    ledger = Ledger(path, plan, write=False)
    done = ledger.is_done("user:0#create")
    assert done is not None and done.target_id == "t-0" and done.how == f"created {AWKWARD}"
    assert ledger.unknown_outcome("user:1#create")
    assert not ledger.unknown_outcome("user:2#create")
    assert read_targets(path, plan) == {"user:0": "t-0"}
    assert read_header(path)["format"] == "mdmbridge-migration-ledger"


def test_a_migration_ledger_appends_after_what_is_there(tmp_path: Path) -> None:
    plan = migration_plan()
    path = tmp_path / "plan.ledger.jsonl"
    ledger = Ledger(path, plan)
    ledger.begin("user:0#create")
    ledger.finish("user:0#create", "user:0", "t-0", "created")
    ledger.close()
    again = Ledger(path, plan)
    again.begin("user:1#create")
    again.close()
    events = list(read_events(path))
    assert [e.get("format") or e["state"] for e in events] == [
        "mdmbridge-migration-ledger",
        "begin",
        "done",
        "begin",
    ]
    reread = Ledger(path, plan, write=False)
    assert reread.is_done("user:0#create") is not None
    assert reread.unknown_outcome("user:1#create")


def test_a_bulk_ledger_as_written_before_still_loads(tmp_path: Path) -> None:
    plan = bulk_plan()
    lines = [
        {
            "format": "mdmbridge-bulk-ledger",
            "plan": plan.digest(),
            "action": plan.action.model_dump(mode="json"),
            "at": "2026-01-01T00:00:00.000Z",
        },
        {"target": "acme/0", "state": "begin", "attempt": 1, "at": "2026-01-01T00:00:00.100Z"},
        {"target": "acme/0", "state": "done", "attempt": 1, "how": "sent", "at": "…"},
        {"target": "acme/1", "state": "begin", "attempt": 1, "at": "2026-01-01T00:00:00.200Z"},
        {
            "target": "acme/2",
            "state": "failed",
            "attempt": 1,
            "error_class": "NotFound",
            "error": AWKWARD,
            "at": "2026-01-01T00:00:00.300Z",
        },
    ]
    path = tmp_path / "plan.ledger.jsonl"
    path.write_bytes(b"".join((json.dumps(x, ensure_ascii=False) + "\n").encode() for x in lines))
    ledger = BulkLedger(path, plan)
    assert [ledger.state(f"acme/{n}") for n in range(3)] == ["done", "unknown", "failed"]
    assert ledger.entries["acme/2"].error == AWKWARD
    assert ledger.entries["acme/1"].interrupted


def test_a_bulk_ledger_left_unwritten_leaves_no_file(tmp_path: Path) -> None:
    plan = bulk_plan()
    path = tmp_path / "plan.ledger.jsonl"
    BulkLedger(path, plan).open().close()
    assert not path.exists()
    ledger = BulkLedger(path, plan).open()
    assert ledger.begin("acme/0") == 1
    ledger.finish("acme/0", "done", how="sent")
    ledger.close()
    events = list(read_events(path))
    assert events[0]["format"] == "mdmbridge-bulk-ledger" and events[0]["plan"] == plan.digest()
    assert [e["state"] for e in events[1:]] == ["begin", "done"]
    assert BulkLedger(path, plan).state("acme/0") == "done"
