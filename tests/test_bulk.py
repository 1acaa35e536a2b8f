"""``mdmbridge bulk plan|apply|status`` and ``devices send --serial`` against live simulators.

The crash test kills a real ``bulk apply`` process with SIGKILL while a command is in
flight, runs apply again, and counts at the simulator: one command per target, the one in
flight reported as unknown and not re-sent, re-sent exactly once with ``--resend-unknown``.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mdmbridge.cli import main
from mdmbridge.models import Device, Platform
from mdmbridge.simulation import SimServer
from mdmbridge.where import parse_where
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

Factory = Callable[..., SimServer]
FAST = "retries = 1\nread_timeout_s = 5.0\n"


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


@dataclass
class Env:
    duo: SimServer
    ez: SimServer
    config: Path
    tmp: Path
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def __call__(self, *args: str, input: str = "", tty: bool = False) -> Result:
        self.monkeypatch.setattr(sys, "stdin", _Terminal(input) if tty else io.StringIO(input))
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    @property
    def audit_log(self) -> Path:
        return Path(os.environ["MDMBRIDGE_AUDIT_LOG"])

    def audit_lines(self) -> list[dict[str, Any]]:
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text("utf-8").splitlines()]

    def writes(self) -> int:
        return self.duo.writes() + self.ez.writes()

    @property
    def duo_app(self) -> Any:
        return self.duo.app

    @property
    def ez_app(self) -> Any:
        return self.ez.app

    def duo_commands(self) -> Counter[str]:
        return Counter(device for device, _, _ in self.duo_app.commands)

    def devices(self, tenant: str) -> list[dict[str, Any]]:
        result = self("devices", "list", tenant, "--format", "json")
        assert result.code == 0, result.err
        rows: list[dict[str, Any]] = result.json()
        return rows

    def plan(self, name: str) -> Path:
        return self.tmp / name


def write_config(
    path: Path, duo: SimServer, ez: SimServer, *, extra: str = "", pw: str = ""
) -> None:
    path.write_text(
        f'[tenants.duo]\nvendor = "duostation"\nbase_url = "{duo.base_url}"\n'
        f'username = "{DUO_USER}"\npassword = "{pw or DUO_PASSWORD}"\n{FAST}{extra}'
        f'[tenants.ez]\nvendor = "ezmdm"\nbase_url = "{ez.base_url}"\napi_key = "{EZ_KEY}"\n'
        f"{FAST}",
        encoding="utf-8",
    )


def make_env(
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Env:
    """Two tenants: "duo" (DuoSTATION, 12 devices) and "ez" (ezmdm, 8 devices)."""
    duo, ez = duo_sim(devices=12, seed=3), ez_sim(devices=8, seed=3)
    config = tmp_path / "tenants.toml"
    write_config(config, duo, ez)
    return Env(duo, ez, config, tmp_path, capsys, monkeypatch)


@pytest.fixture
def env(
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Env:
    return make_env(duo_sim, ez_sim, tmp_path, capsys, monkeypatch)


def one_line_error(result: Result, code: int = 2) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document


# --------------------------------------------------------------------------- plan


def test_plan_send_lists_every_target_and_sends_nothing(env: Env) -> None:
    plan = env.plan("refresh.json")
    result = env("bulk", "plan", "send", "refresh", "--all", "-o", str(plan))
    assert result.code == 0, result.err
    assert env.writes() == 0 and env.duo.count("GET") > 0 and env.ez.count("GET") > 0
    document = load(plan)
    assert document["format"] == "mdmbridge-bulk-plan"
    assert document["action"] == {"kind": "send", "command": "refresh", "params": {}}
    tenants = {t["tenant"]: t for t in document["tenants"]}
    assert tenants["duo"]["counts"] == {"send": 12} and tenants["ez"]["counts"] == {"send": 8}
    assert document["summary"]["writes"] == 20
    duo_devices = {d["id"]: d for d in env.devices("duo")}
    target = next(t for t in document["targets"] if t["tenant"] == "duo" and t["user_id"])
    device = duo_devices[target["device_id"]]
    assert target["key"] == f"duo/{device['id']}" and target["vendor"] == "duostation"
    assert (target["name"], target["serial"]) == (device["name"], device["serial_number"])
    assert target["user"]  # the user's name, for review
    assert "wrote" in result.err and "bulk apply" in result.err


def test_plan_skips_tenants_without_the_capability(env: Env) -> None:
    plan = env.plan("wipe.json")
    result = env("bulk", "plan", "send", "wipe", "--where", "platform=android", "-o", str(plan))
    assert result.code == 0, result.err
    document = load(plan)
    ez = next(t for t in document["tenants"] if t["tenant"] == "ez")
    assert ez["status"] == "skipped" and ez["reason"] == "ezmdm does not support the wipe command"
    assert {t["tenant"] for t in document["targets"]} == {"duo"}
    android = [d for d in env.devices("duo") if d["platform"] == "android"]
    assert sorted(t["device_id"] for t in document["targets"]) == sorted(d["id"] for d in android)
    assert env.writes() == 0


def test_plan_for_chosen_tenants_and_message_text(env: Env) -> None:
    plan = env.plan("msg.json")
    text = "Hej!  Uppdatera före fredag & starta om"
    result = env("bulk", "plan", "send", "message", text, "--all", "-t", "ez", "-o", str(plan))
    assert result.code == 0, result.err
    document = load(plan)
    assert [t["tenant"] for t in document["tenants"]] == ["ez"]
    # ezmdm cannot send messages: planned nowhere, and said so
    assert document["tenants"][0]["status"] == "skipped" and document["targets"] == []
    assert document["action"]["params"] == {"message": text}


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["send", "frob", "--all"], "unknown command 'frob'"),
        (["send", "lock"], "--where"),
        (["send", "lock", "--all", "--where", "platform=ios"], "contradict"),
        (["send", "lock", "--where", "colour=red"], "'colour'"),
        (["send", "lock", "--where", "platform"], "--where 'platform'"),
        (["send", "lock", "--where", "last_seen<soon"], "--where 'last_seen<soon'"),
        (["send", "message", "--all"], "message needs TEXT"),
        (["send", "lock", "extra", "--all"], "takes no argument"),
        (["send", "lock", "--vpp", "--all"], "install-app"),
        (["send", "lock", "--all", "-t", "nope"], "unknown tenant 'nope'"),
        (["ensure-group", "--name", "  "], "cannot be empty"),
    ],
)
def test_bad_plan_input_is_one_line_and_exit_2(env: Env, args: list[str], fragment: str) -> None:
    plan = env.plan("bad.json")
    message = one_line_error(env("bulk", "plan", *args, "-o", str(plan)))
    assert fragment in message
    assert not plan.exists() and env.duo.count() == 0 and env.ez.count() == 0


def test_an_unreachable_tenant_fails_alone_at_planning(env: Env, duo_sim: Factory) -> None:
    write_config(env.config, env.duo, env.ez, pw="wrong-password")
    plan = env.plan("lock.json")
    result = env("bulk", "plan", "send", "refresh", "--all", "-o", str(plan))
    assert result.code == 1
    tenants = {t["tenant"]: t for t in load(plan)["tenants"]}
    assert tenants["duo"]["status"] == "failed" and tenants["duo"]["error_class"] == "AuthError"
    assert tenants["ez"]["status"] == "planned"
    assert "wrong-password" not in plan.read_text("utf-8")


# --------------------------------------------------------------------------- where


def _device(**fields: Any) -> Device:
    return Device(tenant="t", vendor="v", id="1", **fields)


def test_where_mini_language() -> None:
    def hits(*exprs: str) -> list[bool]:
        predicate = parse_where(list(exprs), "devices")
        return [predicate(d) for d in devices]

    devices = [
        _device(platform=Platform.IOS, os_version="17.4.1", name="Åsas iPhone", battery_level=80),
        _device(platform=Platform.IOS, os_version="16.7.8", name="Kiosk iPad"),
        _device(platform=Platform.ANDROID, os_version="14", serial_number="R5CT"),
    ]
    assert hits("platform=IOS") == [True, True, False]
    assert hits("platform!=ios") == [False, False, True]
    assert hits("os_version>=17.4") == [True, False, False]
    assert hits("os_version<17") == [False, True, True]
    assert hits("name~åsa") == [True, False, False]
    assert hits("serial_number=") == [True, True, False]
    assert hits("battery_level>50") == [True, False, False]
    assert hits("platform=ios", "name~kiosk") == [False, True, False]


def test_where_on_timestamps_against_the_simulator(env: Env) -> None:
    devices = env.devices("duo")
    cutoff = sorted(d["last_seen"] for d in devices)[5]
    plan = env.plan("stale.json")
    result = env("bulk", "plan", "send", "lock", "--where", f"last_seen<{cutoff}", "-t", "duo",
                 "-o", str(plan))  # fmt: skip
    assert result.code == 0, result.err
    stale = {d["id"] for d in devices if d["last_seen"] < cutoff}
    assert {t["device_id"] for t in load(plan)["targets"]} == stale and len(stale) == 5
    # A duration means that long ago: the seeded fleet was last seen in October 2026.
    result = env("bulk", "plan", "send", "lock", "--where", "last_seen>1d", "-t", "duo",
                 "-o", str(plan))  # fmt: skip
    assert result.code == 0 and load(plan)["targets"] == []


# --------------------------------------------------------------------------- apply


def make_plan(env: Env, name: str, *args: str) -> Path:
    plan = env.plan(name)
    result = env("bulk", "plan", *args, "-o", str(plan))
    assert result.code == 0, result.err
    env.duo.reset_counts()
    env.ez.reset_counts()
    return plan


def test_apply_needs_confirmation_and_refuses_without_a_terminal(env: Env) -> None:
    plan = make_plan(env, "refresh.json", "send", "refresh", "--all")
    refused = env("bulk", "apply", str(plan))
    assert "--yes" in one_line_error(refused) and "20 targets" in refused.err
    assert env.writes() == 0 and not plan.with_name("refresh.ledger.jsonl").exists()
    wrong = env("bulk", "apply", str(plan), input="y\n", tty=True)
    assert wrong.code == 130 and env.writes() == 0
    assert "Type 20 to go on" in wrong.err
    right = env("bulk", "apply", str(plan), "--rate", "unlimited", input="20\n", tty=True)
    assert right.code == 0, right.err
    assert sorted(env.duo_commands().values()) == [1] * 12
    assert sorted(Counter(env.ez_app.pushes).values()) == [1] * 8
    # the counts per tenant were shown before asking
    assert "duo" in right.err and "ez" in right.err and "to send" in right.err


def test_dry_run_sends_nothing_and_writes_no_ledger(env: Env) -> None:
    plan = make_plan(env, "lock.json", "send", "lock", "--all", "-t", "duo")
    result = env("bulk", "apply", str(plan), "--dry-run", "--format", "json")
    assert result.code == 0, result.err
    assert env.duo.writes() == 0 and env.duo_app.commands == []
    assert {row["status"] for row in result.json()} == {"would send"}
    assert not plan.with_name("lock.ledger.jsonl").exists()
    assert env.audit_lines() == []


def test_apply_twice_sends_once_and_status_says_so(env: Env) -> None:
    plan = make_plan(env, "lock.json", "send", "lock", "--all", "-t", "duo")
    first = env("bulk", "apply", str(plan), "--yes", "--rate", "unlimited")
    assert first.code == 0, first.err
    second = env("bulk", "apply", str(plan), "--yes", "--format", "json")
    assert second.code == 0, second.err
    assert {(r["status"], r["note"]) for r in second.json()} == {("done", "done in an earlier run")}
    assert sorted(env.duo_commands().values()) == [1] * 12
    status = env("bulk", "status", str(plan), "--format", "json")
    assert status.code == 0
    assert status.json() == [
        {"tenant": "duo", "vendor": "duostation", "targets": 12, "done": 12, "failed": 0,
         "unknown": 0, "pending": 0}
    ]  # fmt: skip
    ledger = plan.with_name("lock.ledger.jsonl").read_text("utf-8").splitlines()
    header = json.loads(ledger[0])
    assert header["format"] == "mdmbridge-bulk-ledger" and len(ledger) == 1 + 2 * 12


def test_apply_is_paced_per_tenant(env: Env) -> None:
    plan = make_plan(env, "refresh.json", "send", "refresh", "--all", "-t", "duo")
    started = time.monotonic()
    result = env("bulk", "apply", str(plan), "--yes", "--rate", "20/s")
    elapsed = time.monotonic() - started
    assert result.code == 0, result.err
    assert elapsed >= 11 / 20 - 0.05  # 12 sends, 1/20 s apart
    assert one_line_error(env("bulk", "apply", str(plan), "--yes", "--rate", "fast"))


def test_a_refused_command_fails_alone_and_a_rerun_sends_only_it(env: Env) -> None:
    plan = make_plan(env, "lock.json", "send", "lock", "--all", "-t", "duo")
    env.duo.faults.add("status", status=404, methods=["POST"], after=3, times=1)
    report = env.tmp / "report.json"
    result = env("bulk", "apply", str(plan), "--yes", "--rate", "unlimited", "--format", "jsonl",
                 "--report", str(report))  # fmt: skip
    assert result.code == 1
    rows = [json.loads(line) for line in result.out.splitlines()]
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error_class"] == "NotFound" and failed[0]["error"]
    assert sum(1 for r in rows if r["status"] == "done") == 11
    document = load(report)
    assert document["ok"] is False and document["counts"] == {"done": 11, "failed": 1}
    assert [i["status"] for i in document["items"]].count("failed") == 1
    assert len(env.duo_app.commands) == 11
    status = env("bulk", "status", str(plan), "--format", "json")
    assert status.code == 1 and status.json()[0]["failed"] == 1
    again = env("bulk", "apply", str(plan), "--yes")
    assert again.code == 0, again.err
    assert sorted(env.duo_commands().values()) == [1] * 12  # the refused one, once


def test_a_dropped_answer_is_unknown_and_only_resent_when_asked(env: Env) -> None:
    plan = make_plan(env, "lock.json", "send", "lock", "--all", "-t", "duo")
    env.duo.faults.add("drop", methods=["POST"], after=2, times=1)
    result = env("bulk", "apply", str(plan), "--yes", "--rate", "unlimited", "--format", "json")
    assert result.code == 1
    unknown = [r for r in result.json() if r["status"] == "unknown"]
    assert len(unknown) == 1 and unknown[0]["error_class"] == "TransportError"
    device = unknown[0]["device_id"]
    assert env.duo.count("POST") == 12 and len(env.duo_app.commands) == 11  # dropped unanswered

    again = env("bulk", "apply", str(plan), "--yes", "--format", "json")
    assert again.code == 1
    assert env.duo.count("POST") == 12  # not re-sent
    (row,) = [r for r in again.json() if r["status"] == "unknown"]
    assert row["device_id"] == device and "--resend-unknown" in row["note"]
    status = env("bulk", "status", str(plan), "--format", "json").json()[0]
    assert (status["done"], status["unknown"]) == (11, 1)

    resent = env("bulk", "apply", str(plan), "--yes", "--resend-unknown")
    assert resent.code == 0, resent.err
    assert env.duo.count("POST") == 13 and env.duo_commands()[device] == 1
    once_more = env("bulk", "apply", str(plan), "--yes", "--resend-unknown")
    assert once_more.code == 0 and env.duo.count("POST") == 13
    assert len(env.audit_lines()) == env.duo.writes()  # the dropped one is audited as unknown
    assert [a["outcome"] for a in env.audit_lines()].count("unknown") == 1


def test_refused_credentials_stop_that_tenant_only(env: Env) -> None:
    plan = make_plan(env, "refresh.json", "send", "refresh", "--all")
    write_config(env.config, env.duo, env.ez, pw="wrong-password")
    result = env("bulk", "apply", str(plan), "--yes", "--rate", "unlimited", "--format", "json")
    assert result.code == 1
    statuses = Counter((r["tenant"], r["status"]) for r in result.json())
    assert statuses[("ez", "done")] == 8
    assert statuses[("duo", "failed")] == 1 and statuses[("duo", "pending")] == 11
    assert "stopped duo: AuthError" in result.err
    assert env.duo_app.commands == [] and env.duo.writes() == 1  # one refused attempt
    write_config(env.config, env.duo, env.ez)
    again = env("bulk", "apply", str(plan), "--yes", "--rate", "unlimited")
    assert again.code == 0, again.err
    assert sorted(env.duo_commands().values()) == [1] * 12
    assert sorted(Counter(env.ez_app.pushes).values()) == [1] * 8


def test_a_ledger_of_another_plan_and_a_locked_ledger_are_refused(env: Env) -> None:
    import fcntl

    plan = make_plan(env, "lock.json", "send", "lock", "--all", "-t", "duo")
    other = make_plan(env, "refresh.json", "send", "refresh", "--all", "-t", "duo")
    ledger = env.tmp / "shared.ledger.jsonl"
    assert env("bulk", "apply", str(other), "--yes", "--ledger", str(ledger)).code == 0
    sent = len(env.duo_app.commands)
    message = one_line_error(env("bulk", "apply", str(plan), "--yes", "--ledger", str(ledger)))
    assert "another plan" in message and len(env.duo_app.commands) == sent
    with open(plan.with_name("lock.ledger.jsonl"), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        message = one_line_error(env("bulk", "apply", str(plan), "--yes"))
    assert "locked" in message and len(env.duo_app.commands) == sent


def test_damaged_or_missing_plan_is_a_usage_error(env: Env) -> None:
    assert "no plan file" in one_line_error(env("bulk", "apply", str(env.plan("nope.json")), "-y"))
    plan = make_plan(env, "lock.json", "send", "lock", "--all", "-t", "duo")
    text = plan.read_text("utf-8")
    plan.write_text(text[: len(text) // 2], encoding="utf-8")
    assert "not a readable plan" in one_line_error(env("bulk", "apply", str(plan), "--yes"))
    assert "not a readable plan" in one_line_error(env("bulk", "status", str(plan)))
    assert env.duo.writes() == 0


# --------------------------------------------------------------------------- ensure


def test_ensure_group_reuses_or_creates_once_per_tenant(env: Env) -> None:
    existing = env("groups", "list", "ez", "--format", "json").json()[0]["name"]
    plan = make_plan(env, "kiosk.json", "ensure-group", "--name", "Kiosk")
    targets = {t["tenant"]: t for t in load(plan)["targets"]}
    assert {t["op"] for t in targets.values()} == {"create"}
    result = env("bulk", "apply", str(plan), "--yes", "--format", "json")
    assert result.code == 0, result.err
    ids = {r["tenant"]: r for r in result.json()}
    assert env.duo.writes() == 1 and env.ez.writes() == 1
    again = env("bulk", "apply", str(plan), "--yes")
    assert again.code == 0 and env.writes() == 2
    replanned = make_plan(env, "kiosk2.json", "ensure-group", "--name", "kiosk")
    assert {t["op"] for t in load(replanned)["targets"]} == {"reuse"}
    assert env("bulk", "apply", str(replanned), "--yes").code == 0 and env.writes() == 0
    names = [g["name"] for g in env("groups", "list", "duo", "--format", "json").json()]
    assert names.count("Kiosk") == 1 and ids["duo"]["status"] == "done"
    reuse = make_plan(env, "same.json", "ensure-group", "--name", existing, "-t", "ez")
    assert load(reuse)["targets"][0]["op"] == "reuse"


def test_ensure_tag_skips_vendors_without_tags(env: Env) -> None:
    plan = make_plan(env, "tag.json", "ensure-tag", "--name", "Förlorad")
    tenants = {t["tenant"]: t for t in load(plan)["tenants"]}
    assert tenants["ez"]["status"] == "skipped" and tenants["ez"]["reason"] == "ezmdm has no tags"
    result = env("bulk", "apply", str(plan), "--yes")
    assert result.code == 0, result.err
    tags = [t["name"] for t in env("tags", "list", "duo", "--format", "json").json()]
    assert tags.count("Förlorad") == 1 and env.ez.writes() == 0


def test_ensure_after_a_lost_answer_adopts_instead_of_creating_again(env: Env) -> None:
    plan = make_plan(env, "tag.json", "ensure-tag", "--name", "Nytt", "-t", "duo")
    env.duo.faults.add("drop", methods=["POST"], times=1)  # the answer is lost
    first = env("bulk", "apply", str(plan), "--yes", "--format", "json")
    assert first.code == 1 and first.json()[0]["status"] == "unknown"
    # As if that create had landed after all: the tag is there now.
    assert env("tags", "create", "duo", "--name", "Nytt").code == 0
    second = env("bulk", "apply", str(plan), "--yes", "--format", "json")
    assert second.code == 0 and "landed" in second.json()[0]["note"]
    tags = [t["name"] for t in env("tags", "list", "duo", "--format", "json").json()]
    assert tags.count("Nytt") == 1
    ledger = plan.with_name("tag.ledger.jsonl").read_text("utf-8")
    assert '"how": "adopted"' in ledger


# --------------------------------------------------------------------------- crash


def test_killed_apply_resumes_without_sending_twice(env: Env) -> None:
    """SIGKILL while a command is in flight (the simulator holds it 0.4 s), then resume."""
    write_config(env.config, env.duo, env.ez, extra="max_concurrency = 1\n")
    plan = make_plan(env, "lock.json", "send", "lock", "--all", "-t", "duo")
    ledger = plan.with_name("lock.ledger.jsonl")
    env.duo.faults.add("delay", delay_s=0.4, methods=["POST"], times=None)
    script = "import sys; from mdmbridge.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["--config", str(env.config), "bulk", "apply", str(plan), "--yes", "--rate", "unlimited"]
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # 4 answered, the 5th begun (in flight)
            begun = ledger.read_text("utf-8").count('"begin"') if ledger.exists() else 0
            if len(env.duo_app.commands) >= 4 and begun >= 5:
                break
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.01)
        time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        if process.stderr:
            process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    time.sleep(0.6)  # the command in flight reaches the vendor, though nobody hears the answer
    landed = env.duo_commands()
    assert len(landed) == 5
    env.duo.faults.clear()

    resumed = env("bulk", "apply", str(plan), "--yes", "--format", "json")
    assert resumed.code == 1
    rows = {r["device_id"]: r for r in resumed.json()}
    unknown = [d for d, r in rows.items() if r["status"] == "unknown"]
    assert len(unknown) == 1 and rows[unknown[0]]["error_class"] == "InterruptedWrite"
    assert unknown[0] in landed  # it did land, and it is not sent again
    assert sorted(env.duo_commands().values()) == [1] * 12  # exactly one per target
    status = env("bulk", "status", str(plan), "--format", "json").json()[0]
    assert (status["done"], status["unknown"], status["pending"]) == (11, 1, 0)
    assert len(env.audit_lines()) == env.duo.writes() == 12

    resent = env("bulk", "apply", str(plan), "--yes", "--resend-unknown")
    assert resent.code == 0, resent.err
    commands = env.duo_commands()
    assert commands[unknown[0]] == 2 and sum(commands.values()) == 13  # re-sent once
    assert len(env.audit_lines()) == env.duo.writes() == 13


def test_ctrl_c_stops_cleanly_and_a_rerun_finishes(env: Env) -> None:
    """SIGINT (Ctrl-C) mid-run: what is in flight is recorded, nothing more is sent, exit 130."""
    plan = make_plan(env, "lock.json", "send", "lock", "--all", "-t", "duo")
    script = "import sys; from mdmbridge.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["--config", str(env.config), "bulk", "apply", str(plan), "--yes", "--rate", "5/s"]
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(env.duo_app.commands) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Ctrl-C" in err and "Traceback" not in err
    sent = len(env.duo_app.commands)
    assert 3 <= sent < 12
    ledger = [json.loads(x) for x in plan.with_name("lock.ledger.jsonl").read_text().splitlines()]
    last = {e["target"]: e["state"] for e in ledger[1:]}
    assert "begin" not in last.values()  # every command in flight got its outcome recorded
    assert len(env.audit_lines()) == env.duo.writes() == sent
    again = env("bulk", "apply", str(plan), "--yes", "--rate", "unlimited")
    assert again.code == 0, again.err
    assert sorted(env.duo_commands().values()) == [1] * 12


# --------------------------------------------------------------------------- one device


def test_send_by_serial_on_both_vendors(env: Env) -> None:
    device = env.devices("duo")[3]
    result = env("devices", "send", "duo", "--serial", device["serial_number"].lower(), "lock")
    assert result.code == 0, result.err
    assert [c[:2] for c in env.duo_app.commands] == [(device["id"], "lockdevice")]
    ez_device = env.devices("ez")[2]
    result = env("devices", "send", "ez", "--serial", ez_device["serial_number"], "refresh",
                 "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    (row,) = result.json()
    assert (row["device_id"], row["serial_number"], row["command"], row["status"]) == (
        ez_device["id"], ez_device["serial_number"], "refresh", "ok",
    )  # fmt: skip
    assert env.ez_app.pushes == [ez_device["id"]]
    lines = env.audit_lines()
    assert lines[0]["target"]["serial"] == device["serial_number"]
    assert lines[0]["target"]["name"] == device["name"] and lines[0]["action"] == "device.lock"


def test_unknown_and_ambiguous_serials_send_nothing(env: Env) -> None:
    assert "no device with serial" in one_line_error(
        env("devices", "send", "duo", "--serial", "NOPE123", "lock"), 1
    )
    first, second = env.devices("ez")[:2]
    app = env.ez_app
    with app._lock:
        app._obj(second["id"])["serialNumber"] = first["serial_number"]
    env.ez.reset_counts()
    message = one_line_error(env("devices", "send", "ez", "--serial", first["serial_number"],
                                 "refresh"))  # fmt: skip
    assert "matches 2 devices" in message and first["id"] in message and second["id"] in message
    assert env.ez.writes() == 0 and app.pushes == []


def test_wipe_shows_the_device_and_is_confirmed_by_its_serial(env: Env) -> None:
    device = next(d for d in env.devices("duo") if d["user_id"])
    user = env("users", "get", "duo", device["user_id"], "--format", "json").json()
    declined = env("devices", "send", "duo", "--serial", device["serial_number"], "wipe",
                   input="y\n", tty=True)  # fmt: skip
    assert declined.code == 130 and env.duo_app.commands == []
    for shown in (device["id"], device["name"], device["serial_number"], user["name"], "duo"):
        assert shown in declined.err, shown
    assert f"Type the serial number ({device['serial_number']})" in declined.err
    wiped = env("devices", "send", "duo", device["id"], "wipe",
                input=device["serial_number"] + "\n", tty=True)  # fmt: skip
    assert wiped.code == 0, wiped.err
    assert [c[:2] for c in env.duo_app.commands] == [(device["id"], "wipedevice")]
    cleared = env("devices", "send", "duo", device["id"], "clear-passcode", input="y\n", tty=True)
    assert cleared.code == 0 and device["serial_number"] in cleared.err


def test_several_devices_in_machine_output_list_failures_too(env: Env) -> None:
    devices = env.devices("duo")
    missing = "00000000-0000-4000-8000-000000000000"
    result = env("devices", "send", "duo", "message", "Hej", "--device", devices[0]["id"],
                 "--device", missing, "--serial", devices[1]["serial_number"],
                 "--format", "json")  # fmt: skip
    assert result.code == 1
    rows = {r["device_id"]: r for r in result.json()}
    assert rows[devices[0]["id"]]["status"] == "ok" and rows[devices[1]["id"]]["status"] == "ok"
    assert rows[missing]["status"] == "failed" and rows[missing]["error"]
    assert {r["command"] for r in rows.values()} == {"message"}
