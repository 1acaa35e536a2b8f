"""``mdmbridge migrate plan|apply|verify`` end to end: a tenants file, live simulators,
``main(argv)`` and its exit codes (0 complete, 1 partial, 2 usage, 130 aborted)."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mdmbridge.cli import main
from mdmbridge.migrate import load_plan
from mdmbridge.simulation import SimServer
from tests.conftest import connect_ez
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

SEED = 7
Factory = Callable[..., SimServer]


class _Terminal(io.StringIO):
    """A stdin that says it is a terminal, with the person's answer already typed."""

    def isatty(self) -> bool:
        return True


@dataclass
class Setup:
    source: SimServer  # DuoSTATION, tenant "gamla"
    target: SimServer  # ezmdm, tenant "nya"
    config: Path
    plan: Path

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    def target_groups(self) -> Counter[str]:
        app = self.target.app
        return Counter(app.record("group", g)["name"] for g in app.ids("group"))

    def target_emails(self) -> Counter[str]:
        app = self.target.app
        return Counter(app.record("user", u)["email"] for u in app.ids("user"))

    def source_emails(self) -> Counter[str]:
        with self.source.app.lock:
            return Counter(u["Email"] for u in self.source.app.users.values())


@pytest.fixture
def setup(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Setup:
    source, target = duo_sim(devices=120, seed=SEED), ez_sim()
    config = tmp_path / "tenants.toml"
    config.write_text(
        f"""
[tenants.gamla]
vendor = "duostation"
base_url = "{source.base_url}"
username = "{DUO_USER}"
password = "{DUO_PASSWORD}"
retries = 1

[tenants.nya]
vendor = "ezmdm"
base_url = "{target.base_url}"
api_key = "{EZ_KEY}"
retries = 1
""",
        encoding="utf-8",
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal unless a test says so
    return Setup(source, target, config, tmp_path / "plan.json")


def make_plan(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = setup.run(
        capsys, "migrate", "plan", "--from", "gamla", "--to", "nya", "-o", str(setup.plan)
    )
    assert code == 0, err
    setup.source.reset_counts()
    setup.target.reset_counts()


def test_plan_writes_the_file_and_nothing_to_either_side(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = setup.run(
        capsys, "migrate", "plan", "--from", "gamla", "--to", "nya", "--output", str(setup.plan)
    )
    assert code == 0, err
    assert setup.source.writes() == 0 and setup.target.writes() == 0
    assert setup.source.count("GET") > 0 and setup.target.count("GET") > 0  # both were read
    plan = load_plan(setup.plan)
    assert (plan.source.tenant, plan.source.vendor) == ("gamla", "duostation")
    assert (plan.target.tenant, plan.target.vendor) == ("nya", "ezmdm")
    assert len(plan.writes) == 40 + 96  # the group tree and every user
    assert "create user" in err and "96" in err and str(setup.plan) in err
    assert not list(setup.plan.parent.glob("*.ledger.jsonl"))


def test_plan_from_and_to_the_same_tenant_is_a_usage_error(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = setup.run(
        capsys, "migrate", "plan", "--from", "nya", "--to", "nya", "-o", str(setup.plan)
    )
    assert code == 2 and "same tenant" in err
    assert not setup.plan.exists() and setup.target.count() == 0


def test_apply_without_yes_and_without_a_terminal_writes_nothing(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    make_plan(setup, capsys)
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan))
    assert code == 2
    assert "--yes" in err
    assert setup.target.count() == 0
    assert not list(setup.plan.parent.glob("*.ledger.jsonl"))


def test_apply_asks_at_a_terminal_and_no_means_nothing_written(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_plan(setup, capsys)
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = setup.run(capsys, "migrate", "apply", str(setup.plan))
    assert code == 130
    assert "Write up to 136 changes to nya (ezmdm)?" in out + err
    assert setup.target.writes() == 0
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan))
    assert code == 0, err
    assert setup.target.writes() == 136


def test_apply_then_verify_then_a_change_in_the_target(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    make_plan(setup, capsys)
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--yes")
    assert code == 0, err
    ledger = setup.plan.with_name("plan.ledger.jsonl")
    report = json.loads(setup.plan.with_name("plan.report.json").read_text("utf-8"))
    assert report["ok"] is True and report["counts"] == {"done": 136}
    assert report["ledger"] == str(ledger)
    assert setup.target_emails() == setup.source_emails()
    assert max(setup.target_groups().values()) == 1 and len(setup.target_groups()) == 40

    verify = ("migrate", "verify", "--from", "gamla", "--to", "nya", "--ledger", str(ledger))
    code, out, err = setup.run(capsys, *verify)
    assert code == 0, err
    assert "COMPLETE" in out
    code, out, _ = setup.run(capsys, *verify, "--format", "json")
    assert code == 0
    result = json.loads(out)
    assert result["complete"] is True
    assert result["missing"] == result["different"] == result["unlinked"] == []
    assert result["not_migrated"] > 0  # tags and fields ezmdm cannot hold

    # Someone renames a migrated group in the target: the migration is no longer complete.
    renamed = next(g for g in setup.target.app.ids("group"))
    connect_ez(setup.target).groups.update(renamed, name="Omdöpt grupp")
    setup.target.reset_counts()
    code, out, _ = setup.run(capsys, *verify, "--format", "json")
    assert code == 1
    result = json.loads(out)
    assert result["complete"] is False
    assert [d["fields"] for d in result["different"]] == [["name"]]
    code, out, _ = setup.run(capsys, *verify)
    assert code == 1 and "INCOMPLETE" in out
    assert setup.target.writes() == 0  # verify only reads


def test_interrupted_apply_exits_1_then_a_rerun_completes(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    make_plan(setup, capsys)
    setup.target.faults.add("drop", methods=["PUT", "POST"], after=70, times=1)

    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--yes")

    assert code == 1
    stopped = [line for line in err.splitlines() if line.startswith("stopped:")]
    assert len(stopped) == 1 and "unknown" in stopped[0] and "apply again" in stopped[0]
    assert "Traceback" not in err
    assert sum(setup.target_emails().values()) + sum(setup.target_groups().values()) == 70
    ledger = setup.plan.with_name("plan.ledger.jsonl")
    verify = ("migrate", "verify", "--from", "gamla", "--to", "nya", "--ledger", str(ledger))
    code, out, _ = setup.run(capsys, *verify, "--format", "json")
    assert code == 1 and len(json.loads(out)["missing"]) == 136 - 70

    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--yes")

    assert code == 0, err
    assert "stopped" not in err
    assert setup.target_emails() == setup.source_emails()  # one of each, none twice
    assert max(setup.target_groups().values()) == 1 and len(setup.target_groups()) == 40
    code, _, _ = setup.run(capsys, *verify)
    assert code == 0


def test_dry_run_writes_nothing_and_needs_no_confirmation(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    make_plan(setup, capsys)
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--dry-run")
    assert code == 0, err
    assert setup.target.writes() == 0
    assert not setup.plan.with_name("plan.ledger.jsonl").exists()
    report = json.loads(setup.plan.with_name("plan.dry-run.report.json").read_text("utf-8"))
    assert report["dry_run"] is True and report["counts"] == {"would write": 136}
    assert report["writes_sent"] == 0
    assert "dry run" in err


def test_verify_before_any_apply_is_not_complete(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    make_plan(setup, capsys)
    ledger = setup.plan.with_name("plan.ledger.jsonl")
    code, _, err = setup.run(
        capsys, "migrate", "verify", "--from", "gamla", "--to", "nya", "--ledger", str(ledger)
    )
    assert code != 0
    assert str(ledger) in err and len(err.strip().splitlines()) == 1


def test_damaged_plan_and_unknown_tenant_are_usage_errors(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    make_plan(setup, capsys)
    text = setup.plan.read_text("utf-8")
    setup.plan.write_text(text[: len(text) // 3], encoding="utf-8")
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--yes")
    assert code == 2 and "not a readable plan" in err
    assert len(err.strip().splitlines()) == 1
    setup.plan.write_text(text.replace('"tenant": "nya"', '"tenant": "okand"'), encoding="utf-8")
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--yes")
    assert code == 2 and "okand" in err
    assert setup.target.count() == 0
