"""The audit log: one line per write sent, counted against what the simulators received,
for every write path; its durability and concurrency; and ``mdmbridge audit``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mdmbridge import audit
from mdmbridge.audit import AuditLog, AuditTarget, outcome_of, was_sent
from mdmbridge.audit_read import AuditQuery, parse_instant, read_audit
from mdmbridge.errors import (
    DryRunViolation,
    NotFound,
    TransportError,
    UnsupportedOperation,
    ValidationError,
)
from mdmbridge.simulation import SimServer
from tests.test_bulk import Env, make_env, one_line_error

Factory = Callable[..., SimServer]


@pytest.fixture
def env(
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Env:
    return make_env(duo_sim, ez_sim, tmp_path, capsys, monkeypatch)


# --------------------------------------------------------------------------- every write path


def test_every_write_is_one_audit_line(env: Env) -> None:
    """After each write command, the lines in the log equal the writes the simulators got."""

    def check(*args: str, code: int = 0, input: str = "", tty: bool = False) -> Any:
        before_lines, before_writes = len(env.audit_lines()), env.writes()
        result = env(*args, input=input, tty=tty)
        assert result.code == code, (args, result.out, result.err)
        assert env.writes() > before_writes, args  # it did write
        assert len(env.audit_lines()) - before_lines == env.writes() - before_writes, args
        return result.json() if "--format" in args else result

    # groups, users, tags: create, update, delete (DuoSTATION), create and update (ezmdm)
    for tenant in ("duo", "ez"):
        group = check("groups", "create", tenant, "--name", "Revision", "--format", "json")[0]
        check("groups", "update", tenant, group["id"], "--name", "Revision 2", "--format", "json")
        user = check("users", "create", tenant, "--name", "Åsa Granskare", "--email",
                     f"asa.{tenant}@example.se", "--format", "json")[0]  # fmt: skip
        check("users", "update", tenant, user["id"], "--phone", "+46 31 1", "--format", "json")
    duo_group = env("groups", "list", "duo", "--format", "json").json()[-1]["id"]
    check("groups", "delete", "duo", duo_group, "--yes")
    user = check("users", "create", "duo", "--name", "Tillfällig", "--format", "json")[0]
    check("users", "delete", "duo", user["id"], "--yes")
    tag = check("tags", "create", "duo", "--name", "Granskad", "--format", "json")[0]
    check("tags", "update", "duo", tag["id"], "--description", "klar", "--format", "json")
    device = env.devices("duo")[0]
    link = check("tags", "link", "duo", "--device-id", device["id"], "--tag-id", tag["id"],
                 "--format", "json")[0]  # fmt: skip
    check("tags", "unlink", "duo", "device", link["id"])
    check("tags", "delete", "duo", tag["id"], "--yes")
    check("apps", "upsert", "duo", "--name", "Skanner", "--company", "Öresund Data",
          "--package-id", "se.oresund.skanner", "--version-text", "1.0", "--platform",
          "android", "--size", "1024", "--store", "play", "--store-id",
          "se.oresund.skanner", "--image-url", "https://apps.example.se/i.png",
          "--format", "json")  # fmt: skip

    # device operations and every device command
    owner = next(d["user_id"] for d in env.devices("duo") if d["user_id"])
    check("devices", "assign", "duo", device["id"], owner, "--format", "json")
    ez_device = env.devices("ez")[0]
    ez_user = env("users", "list", "ez", "--format", "json").json()[0]["id"]
    check("devices", "rename", "ez", ez_device["id"], "Kassa 1", "--format", "json")
    check("devices", "assign", "ez", ez_device["id"], ez_user, "--format", "json")
    for words in (["lock"], ["refresh"], ["message", "Hej"], ["install-app", "1"],
                  ["remove-app", "se.oresund.skanner"], ["clear-passcode", "--yes"],
                  ["wipe", "--yes"]):  # fmt: skip
        check("devices", "send", "duo", device["id"], *words)
    check("devices", "send", "ez", "--serial", ez_device["serial_number"], "refresh")
    # several devices, one refused by the vendor: still one line per request sent
    check("devices", "send", "duo", "lock", "--device", device["id"], "--device",
          "00000000-0000-4000-8000-000000000000", code=1)  # fmt: skip

    # bulk apply
    plan = env.plan("refresh.json")
    assert env("bulk", "plan", "send", "refresh", "--all", "-o", str(plan)).code == 0
    check("bulk", "apply", str(plan), "--yes", "--rate", "unlimited")
    plan = env.plan("group.json")
    assert env("bulk", "plan", "ensure-group", "--name", "Bulk", "-o", str(plan)).code == 0
    check("bulk", "apply", str(plan), "--yes")

    # migrate apply (DuoSTATION -> ezmdm)
    plan = env.plan("migration.json")
    made = env("migrate", "plan", "--from", "duo", "--to", "ez", "-o", str(plan))
    assert made.code == 0, made.err
    check("migrate", "apply", str(plan), "--yes")

    lines = env.audit_lines()
    actions = {line["action"] for line in lines}
    assert {
        "group.create", "group.update", "group.delete", "user.create", "user.update",
        "user.delete", "tag.create", "tag.update", "tag.delete", "tag.link-device",
        "tag.unlink-device", "app.upsert", "device.assign-user", "device.rename",
        "device.lock", "device.wipe", "device.clear-passcode", "device.message",
        "device.refresh", "device.install-app", "device.remove-app",
    } <= actions  # fmt: skip
    sources = {line["source"] for line in lines}
    assert {"groups create", "devices send", "bulk apply", "migrate apply"} <= sources
    assert len(lines) == env.writes()


def test_a_line_holds_who_where_what_and_how_it_ended(env: Env) -> None:
    device = env.devices("duo")[2]
    env("devices", "send", "duo", "--serial", device["serial_number"], "message",
        "Hej då & välkommen")  # fmt: skip
    missing = "00000000-0000-4000-8000-000000000000"
    assert env("devices", "send", "duo", missing, "lock").code == 1
    env.duo.faults.add("drop", methods=["POST"], times=1)
    assert env("devices", "send", "duo", device["id"], "refresh").code == 1
    ok, failed, unknown = env.audit_lines()
    assert ok["user"] and ok["host"] and ok["pid"] == os.getpid()
    assert ok["at"].endswith("Z") and parse_instant(ok["at"])
    assert (ok["tenant"], ok["vendor"], ok["action"], ok["outcome"]) == (
        "duo", "duostation", "device.message", "ok",
    )  # fmt: skip
    assert ok["target"] == {"type": "device", "id": device["id"], "name": device["name"],
                            "serial": device["serial_number"]}  # fmt: skip
    assert ok["params"] == {"message": "Hej då & välkommen"}
    assert ok["error_class"] is None and ok["error"] is None
    assert (failed["outcome"], failed["error_class"]) == ("failed", "NotFound")
    assert failed["target"]["id"] == missing
    assert (unknown["outcome"], unknown["error_class"]) == ("unknown", "TransportError")
    assert len(env.audit_lines()) == env.duo.writes()


def test_refused_before_sending_is_not_a_write(env: Env) -> None:
    for args in (
        ["devices", "send", "ez", "abc", "lock"],  # ezmdm cannot lock
        ["groups", "get", "duo", "1"],  # a read
        ["groups", "update", "duo", "abc", "--name", "x"],  # a bad id, refused locally
        ["devices", "send", "duo", "not-a-guid", "lock"],
    ):
        env(*args)
    assert env.writes() == 0 and env.audit_lines() == []


def test_an_unwritable_audit_log_stops_the_write_before_it_is_sent(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("MDMBRIDGE_AUDIT_LOG", str(blocker / "audit.jsonl"))
    device = env.devices("duo")[0]
    for args in (
        ["groups", "create", "duo", "--name", "x"],
        ["devices", "send", "duo", device["id"], "lock"],
    ):
        message = one_line_error(env(*args))
        assert "cannot write the audit log" in message and "nothing was sent" in message
    plan = env.plan("lock.json")
    assert env("bulk", "plan", "send", "lock", "--all", "-t", "duo", "-o", str(plan)).code == 0
    assert "audit log" in one_line_error(env("bulk", "apply", str(plan), "--yes"))
    assert env.duo.writes() == 0


def test_audit_log_option_moves_it(env: Env, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "log.jsonl"
    result = env("--audit-log", str(elsewhere), "groups", "create", "duo", "--name", "Flyttad")
    assert result.code == 0, result.err
    assert len(elsewhere.read_text("utf-8").splitlines()) == 1 and env.audit_lines() == []
    shown = env("--audit-log", str(elsewhere), "audit", "--format", "json")
    assert [e["action"] for e in shown.json()] == ["group.create"]


# --------------------------------------------------------------------------- the file


def test_record_is_on_disk_and_secrets_are_not(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "deep" / "audit.jsonl")
    entry = log.record(
        tenant="t",
        vendor="v",
        action="user.create",
        target=AuditTarget("user", "7", "Åsa"),
        outcome="ok",
        params={"name": "Åsa", "password": "hunter22", "api_key": "k", "image_data": "A" * 99},
    )
    log.close()
    (line,) = (tmp_path / "deep" / "audit.jsonl").read_text("utf-8").splitlines()
    assert json.loads(line) == entry
    assert "hunter22" not in line and entry["params"]["name"] == "Åsa"
    assert entry["params"]["image_data"] == "(99 characters, not logged)"
    assert entry["source"] == "library"


def test_threads_and_processes_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)

    def many(n: int) -> None:
        for i in range(50):
            log.record(tenant=f"t{n}", vendor="v", action="device.lock",
                       target=AuditTarget("device", str(i)), outcome="ok",
                       params={"message": "x" * 1500})  # fmt: skip

    threads = [threading.Thread(target=many, args=(n,)) for n in range(8)]
    script = (
        "import sys; from mdmbridge.audit import AuditLog, AuditTarget\n"
        "log = AuditLog(sys.argv[1])\n"
        "for i in range(50):\n"
        "    log.record(tenant='p', vendor='v', action='device.lock', outcome='ok',\n"
        "               target=AuditTarget('device', str(i)), params={'message': 'y' * 1500})\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", script, str(path)]) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(p.wait(timeout=60) == 0 for p in processes)
    log.close()
    read = read_audit(path)
    assert read.skipped == 0 and len(read.entries) == 8 * 50 + 3 * 50


def test_outcomes_by_error_class() -> None:
    assert outcome_of(None) == "ok"
    assert outcome_of(NotFound("gone", status=404)) == "failed"
    assert outcome_of(TransportError("dropped", method="POST")) == "unknown"
    assert not was_sent(UnsupportedOperation("no"))
    assert not was_sent(DryRunViolation("dry", method="POST"))
    assert not was_sent(ValidationError("bad id"))
    assert was_sent(ValidationError("vendor says no", status=400))


def test_activated_is_scoped(tmp_path: Path) -> None:
    assert audit.active() is None
    with audit.activated(tmp_path / "a.jsonl") as log:
        assert audit.active() is log
    assert audit.active() is None


# --------------------------------------------------------------------------- reading


def _entry(at: str, tenant: str, action: str, outcome: str = "ok") -> str:
    return json.dumps({"at": at, "user": "u", "host": "h", "tenant": tenant, "vendor": "v",
                       "action": action, "target": {"type": "device", "id": "1"},
                       "params": {}, "outcome": outcome, "error_class": None})  # fmt: skip


def test_audit_command_filters_and_formats(env: Env) -> None:
    lines = [
        _entry("2020-01-01T00:00:00Z", "acme-duo", "device.wipe"),
        _entry("2099-01-01T00:00:00Z", "acme-duo", "device.lock"),
        _entry("2099-01-02T00:00:00Z", "acme-ez", "device.refresh", "unknown"),
        _entry("2099-01-03T00:00:00Z", "other", "group.create", "failed"),
    ]
    env.audit_log.write_text("\n".join(lines) + '\n{"at": "2099-01-04', encoding="utf-8")

    def actions(*args: str) -> list[str]:
        result = env("audit", *args, "--format", "json")
        assert result.code == 0, result.err
        return [e["action"] for e in result.json()]

    assert actions() == ["device.wipe", "device.lock", "device.refresh", "group.create"]
    assert actions("--since", "2098-12-31") == ["device.lock", "device.refresh", "group.create"]
    assert actions("--since", "7d") == ["device.lock", "device.refresh", "group.create"]
    assert actions("-t", "acme-*") == ["device.wipe", "device.lock", "device.refresh"]
    assert actions("-t", "acme-ez", "-t", "other") == ["device.refresh", "group.create"]
    assert actions("--action", "wipe") == ["device.wipe"]
    assert actions("--action", "device.*", "--outcome", "unknown") == ["device.refresh"]
    assert actions("--limit", "2") == ["device.wipe", "device.lock"]
    torn = env("audit", "--format", "json")
    assert "1 damaged line" in torn.err
    jsonl = env("audit", "--format", "jsonl").out.splitlines()
    assert len(jsonl) == 4 and json.loads(jsonl[0])["tenant"] == "acme-duo"
    rows = list(csv.DictReader(io.StringIO(env("audit", "--format", "csv").out)))
    assert rows[0]["target_type"] == "device" and rows[0]["action"] == "device.wipe"
    table = env("audit", "-t", "other")
    assert table.code == 0 and "group.create" in table.out and "device.wipe" not in table.out
    assert "--since" in one_line_error(env("audit", "--since", "soonish"))


def test_reading_a_missing_log_is_empty(tmp_path: Path) -> None:
    assert read_audit(tmp_path / "none.jsonl", AuditQuery(tenants=["x"])).entries == []
