"""Migration reliability: verify sees duplicates in the target, and the migrate CLI picks
its exit code by the error's class, not by searching its text.

Live simulators throughout, through ``main(argv)`` or the Python API, as in
tests/test_cli_migrate.py and tests/test_migrate.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mdmbridge.migrate as migration
from mdmbridge.cli import main
from mdmbridge.errors import AuthError, VendorServerError
from mdmbridge.migrate import ApplyReport
from mdmbridge.simulation import SimServer
from tests.conftest import connect_duo, connect_ez
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

SEED = 7
Factory = Callable[..., SimServer]


@dataclass
class Setup:
    source: SimServer  # DuoSTATION, tenant "gamla"
    target: SimServer  # ezmdm, tenant "nya", empty before the migration
    config: Path
    plan: Path

    @property
    def ledger(self) -> Path:
        return self.plan.with_name("plan.ledger.jsonl")

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    def verify(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
        return self.run(
            capsys,
            "migrate",
            "verify",
            "--from",
            "gamla",
            "--to",
            "nya",
            "--ledger",
            str(self.ledger),
            *extra,
        )

    def targets(self) -> dict[str, str]:
        """source ref -> target id, from the ledger's done lines."""
        out = {}
        for line in self.ledger.read_text("utf-8").splitlines()[1:]:
            entry = json.loads(line)
            if entry.get("state") == "done" and "#" not in entry["step"]:
                out[entry["ref"]] = entry["target_id"]
        return out


@pytest.fixture
def setup(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Setup:
    source, target = duo_sim(devices=60, seed=SEED), ez_sim()
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
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return Setup(source, target, config, tmp_path / "plan.json")


def migrated(setup: Setup, capsys: pytest.CaptureFixture[str]) -> Setup:
    """Plan and apply in full; verify says COMPLETE (exit 0)."""
    code, _, err = setup.run(
        capsys, "migrate", "plan", "--from", "gamla", "--to", "nya", "-o", str(setup.plan)
    )
    assert code == 0, err
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--yes")
    assert code == 0, err
    code, out, err = setup.verify(capsys)
    assert code == 0 and "COMPLETE" in out, err
    return setup


# ------------------------------------------------------------ 2. verify sees duplicates


def test_second_target_user_with_the_same_email_is_a_difference(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    migrated(setup, capsys)
    targets = setup.targets()
    source_id, user = next(
        (ref.split(":")[1], u)
        for ref in targets
        if ref.startswith("user:")
        for u in [connect_duo(setup.source).users.get(ref.split(":")[1])]
        if u.email
    )
    first = targets[f"user:{source_id}"]
    # Someone adds the same person again in the target (the e-mail in other case: the
    # matching folds case, as the migration does).
    second = connect_ez(setup.target).users.create(name="Kopia", email=user.email.upper()).id
    setup.target.reset_counts()

    code, out, err = setup.verify(capsys, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["complete"] is False
    assert report["missing"] == report["unlinked"] == report["ambiguous"] == []
    (entry,) = report["different"]
    assert entry["ref"] == f"user:{source_id}" and entry["kind"] == "user"
    assert entry["target_ids"] == [first, second]
    assert entry["fields"] == ["email"]
    assert first in entry["reason"] and second in entry["reason"]

    code, out, _ = setup.verify(capsys)
    assert code == 1 and "INCOMPLETE" in out
    assert f"user user:{source_id}: 2 target users match" in out
    assert first in out and second in out
    assert setup.target.writes() == 0  # verify only reads


def test_second_target_group_with_the_same_path_is_a_difference(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    migrated(setup, capsys)
    targets = setup.targets()
    target_client = connect_ez(setup.target)
    names = {g.id: g.name for g in target_client.groups.list()}
    ref, first = next(
        (r, t) for r, t in targets.items() if r.startswith("group:") and " / " in names[t]
    )
    second = target_client.groups.create(name=names[first]).id  # ezmdm: the path is the name

    code, out, err = setup.verify(capsys, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["complete"] is False
    (entry,) = report["different"]
    assert entry["ref"] == ref and entry["kind"] == "group"
    assert entry["target_ids"] == [first, second]
    assert "duplicate in the target" in entry["reason"]


def test_nested_target_twin_group_and_twin_user_are_differences(
    duo_sim: Factory, tmp_path: Path
) -> None:
    """DuoSTATION to DuoSTATION: a second group with the same name under the same parent
    (the same path) and a second user with the same e-mail."""
    src_server, dst_server = duo_sim(devices=30, seed=SEED), duo_sim()
    source = connect_duo(src_server, tenant="old", read_only=True)
    target = connect_duo(dst_server, tenant="new")
    ledger = tmp_path / "plan.ledger.jsonl"
    assert migration.apply(migration.plan(source, target), target, ledger=ledger).ok
    assert migration.verify(source, target, ledger=ledger).complete

    child = next(g for g in target.groups.list() if g.parent_id)
    twin = target.groups.create(name=child.name.casefold(), parent_id=child.parent_id)
    person = next(u for u in target.users.list() if u.email)
    double = target.users.create(name="Dubbel", email=person.email)

    check = migration.verify(source, target, ledger=ledger)
    assert check.complete is False
    found = {entry["kind"]: entry["target_ids"] for entry in check.different}
    assert found == {"group": [child.id, twin.id], "user": [person.id, double.id]}
    # Planning through the ledger is unchanged by the duplicates: nothing to write.
    again = migration.plan(source, target, ledger=ledger)
    assert again.writes == [] and again.ambiguous == []


# ------------------------------------------------ 6. exit code by the error's class, not text


def test_credentials_refused_while_applying_is_exit_3(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = setup.run(
        capsys, "migrate", "plan", "--from", "gamla", "--to", "nya", "-o", str(setup.plan)
    )
    assert code == 0, err
    setup.target.faults.add("status", status=401, methods=["PUT", "POST"], after=5, times=None)
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--yes")
    assert code == 3, err
    (stopped,) = [line for line in err.splitlines() if line.startswith("stopped:")]
    assert "credentials refused" in stopped and "Traceback" not in err
    report = json.loads(setup.plan.with_name("plan.report.json").read_text("utf-8"))
    assert report["interrupted"] and "stopped_by" not in report  # the file format is as it was


def _fake_apply(interrupted: str, error: Any) -> Callable[..., ApplyReport]:
    def apply(plan: Any, target: Any, **_: Any) -> ApplyReport:
        return ApplyReport(
            "duostation:gamla",
            "ezmdm:nya",
            False,
            None,
            interrupted=interrupted,
            stopped_by=error,
        )

    return apply


@pytest.mark.parametrize(
    ("interrupted", "error", "expected"),
    [
        # The words in a vendor's 5xx text are not a refused login: exit 1.
        (
            "step user:3: the outcome of a write is unknown ([ezmdm:nya] PUT ...: "
            "upstream said: credentials refused by proxy (HTTP 502))",
            VendorServerError("upstream said: credentials refused by proxy", status=502),
            1,
        ),
        # A refused login whatever its words: exit 3.
        ("the target said no: Invalid API Key", AuthError("Invalid API Key", status=200), 3),
        ("rate limited", None, 1),
    ],
)
def test_apply_exit_code_follows_the_error_class(
    setup: Setup,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    interrupted: str,
    error: Any,
    expected: int,
) -> None:
    code, _, err = setup.run(
        capsys, "migrate", "plan", "--from", "gamla", "--to", "nya", "-o", str(setup.plan)
    )
    assert code == 0, err
    monkeypatch.setattr(migration, "apply", _fake_apply(interrupted, error))
    code, _, err = setup.run(capsys, "migrate", "apply", str(setup.plan), "--yes")
    assert code == expected, err
    assert "stopped:" in err and "Traceback" not in err
