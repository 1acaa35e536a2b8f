"""``mdmbridge adapters|tenants|check|demo|simulate`` end to end: ``main(argv)`` in-process
against live simulators (``simulate`` in a subprocess), exit codes and messages included."""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mdmbridge.capabilities import Capability
from mdmbridge.cli import main
from mdmbridge.cli.demo import DEMO_FLEET
from mdmbridge.config import CONFIG_ENV
from mdmbridge.simulation import SimServer
from tests.conftest import connect_ez
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

Factory = Callable[..., SimServer]
SECRETS = (DUO_PASSWORD, EZ_KEY)
FAST = {"retries": 0, "connect_timeout_s": 2.0, "read_timeout_s": 5.0}


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ambient tenants file; undo the logging ``-v`` installs on the root logger."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in ("mdmbridge", "urllib3")}
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def toml_value(value: Any) -> str:
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)


def write_config(path: Path, tenants: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for name, table in tenants.items():
        lines.append(f'[tenants."{name}"]')
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def duo_tenant(server: SimServer, **overrides: Any) -> dict[str, Any]:
    return {
        "vendor": "duostation",
        "base_url": server.base_url,
        "username": DUO_USER,
        "password": "env:TEST_DUO_PASSWORD",
        **FAST,
        **overrides,
    }


def ez_tenant(server: SimServer, **overrides: Any) -> dict[str, Any]:
    return {
        "vendor": "ezmdm",
        "base_url": server.base_url,
        "api_key": "env:TEST_EZ_KEY",
        **FAST,
        **overrides,
    }


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def assert_one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def sims(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[SimServer, SimServer, Path]:
    """A DuoSTATION and an ezmdm simulator, and a tenants file naming both."""
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    duo, ez = duo_sim(devices=20, seed=5), ez_sim(devices=15, seed=6)
    config = write_config(
        tmp_path / "tenants.toml", {"acme-duo": duo_tenant(duo), "acme-ez": ez_tenant(ez)}
    )
    return duo, ez, config


# ---------------------------------------------------------------------------- adapters


def test_adapters_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "adapters")
    assert code == 0, err
    assert "duostation:" in out and "ezmdm:" in out and "intune:" in out
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line) if c.strip()]
        if cells and cells[0] in {c.value for c in Capability}:
            rows[cells[0]] = cells[1:]
    assert set(rows) == {c.value for c in Capability}
    assert rows["command.wipe"] == ["yes", "-", "yes"]  # duostation, ezmdm, intune
    assert rows["devices.locations"] == ["-", "yes", "-"]
    assert rows["devices.read"] == ["yes", "yes", "yes"]


def test_adapters_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "adapters", "--format", "json")
    assert code == 0, err
    rows = {row["capability"]: row for row in json.loads(out)}
    assert set(rows) == {c.value for c in Capability}
    assert rows["command.wipe"] == {
        "capability": "command.wipe",
        "duostation": "yes",
        "ezmdm": "-",
        "intune": "yes",
    }
    assert rows["tags.read"]["ezmdm"] == "-" and rows["tags.read"]["duostation"] == "yes"
    assert rows["devices.rename"] == {
        "capability": "devices.rename",
        "duostation": "-",
        "ezmdm": "yes",
        "intune": "-",
    }


def test_adapters_needs_no_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--config", str(tmp_path / "missing.toml"), "adapters")
    assert code == 0, err


# ---------------------------------------------------------------------------- tenants


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "jsonl"])
def test_tenants_lists_without_secrets(
    capsys: pytest.CaptureFixture[str], sims: tuple[SimServer, SimServer, Path], fmt: str
) -> None:
    duo, ez, config = sims
    code, out, err = run(capsys, "--config", str(config), "tenants", "--format", fmt)
    assert code == 0, err
    assert "acme-duo" in out and "acme-ez" in out
    assert "duostation" in out and "ezmdm" in out
    assert duo.base_url in out and DUO_USER in out
    assert "(secret)" in out
    assert_no_secrets(out, err)
    if fmt == "json":
        rows = {row["tenant"]: row for row in json.loads(out)}
        assert rows["acme-duo"]["vendor"] == "duostation"
        assert rows["acme-duo"]["password"] == "(secret)"
        assert rows["acme-ez"]["api_key"] == "(secret)"
    assert duo.count() == 0 and ez.count() == 0  # listing tenants sends nothing


def test_tenants_plain_secrets_in_file_are_not_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "plain.toml",
        {
            "a": {
                "vendor": "duostation",
                "base_url": "https://mdm.example",
                "username": DUO_USER,
                "password": DUO_PASSWORD,
            },
            "b": {"vendor": "ezmdm", "api_key": EZ_KEY},
        },
    )
    code, out, err = run(capsys, "-v", "--config", str(config), "tenants", "--format", "jsonl")
    assert code == 0, err
    assert [json.loads(line)["tenant"] for line in out.splitlines()] == ["a", "b"]
    assert_no_secrets(out, err)


def test_tenants_found_through_environment(
    capsys: pytest.CaptureFixture[str],
    sims: tuple[SimServer, SimServer, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, config = sims
    monkeypatch.setenv(CONFIG_ENV, str(config))
    code, out, err = run(capsys, "tenants", "--format", "json")
    assert code == 0, err
    assert [row["tenant"] for row in json.loads(out)] == ["acme-duo", "acme-ez"]


def test_missing_tenants_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    code, out, err = run(capsys, "--config", str(missing), "tenants")
    assert code == 2 and out == ""
    line = assert_one_line_error(err)
    assert str(missing) in line and "no tenants file" in line


# ---------------------------------------------------------------------------- check


def test_check_all_good(
    capsys: pytest.CaptureFixture[str], sims: tuple[SimServer, SimServer, Path]
) -> None:
    duo, ez, config = sims
    code, out, err = run(capsys, "--config", str(config), "check", "--format", "json")
    assert code == 0, err
    rows = {row["tenant"]: row for row in json.loads(out)}
    assert set(rows) == {"acme-duo", "acme-ez"}
    for row in rows.values():
        assert row["status"].startswith("ok")
        assert isinstance(row["seconds"], float) and 0 <= row["seconds"] < 10
        assert row["detail"] == ""
    assert rows["acme-ez"]["vendor"] == "ezmdm"
    assert duo.count() > 0 and ez.count() > 0
    assert duo.writes() == 0 and ez.writes() == 0

    code, out, err = run(capsys, "--config", str(config), "check")
    assert code == 0, err
    assert "acme-duo" in out and "acme-ez" in out and "seconds" in out
    assert_no_secrets(out, err)


def test_check_one_tenant_only(
    capsys: pytest.CaptureFixture[str], sims: tuple[SimServer, SimServer, Path]
) -> None:
    duo, ez, config = sims
    code, out, err = run(capsys, "--config", str(config), "check", "-t", "acme-ez")
    assert code == 0, err
    assert "acme-ez" in out and "acme-duo" not in out
    assert duo.count() == 0 and ez.count() > 0


def test_check_runs_tenants_in_parallel(
    capsys: pytest.CaptureFixture[str],
    duo_sim: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    """Proved by a barrier, not a stopwatch: each simulator holds its first request until all
    four have one in flight; run one after another, the first would wait alone, the barrier
    break (30 s) and that tenant fail with a 400 (never retried)."""
    servers = [duo_sim(devices=2, seed=n) for n in range(4)]
    gate = threading.Barrier(4, timeout=30)
    for server in servers:
        server.gate = gate
    config = write_config(
        tmp_path / "slow.toml", {f"t{n}": duo_tenant(s) for n, s in enumerate(servers)}
    )
    code, out, err = run(capsys, "--config", str(config), "check", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["status"] for r in rows] == ["ok"] * 4
    assert not gate.broken and all(s.gate is None for s in servers)


def test_check_wrong_password_is_reported_and_exit_code_follows(
    capsys: pytest.CaptureFixture[str],
    sims: tuple[SimServer, SimServer, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    duo, ez, _ = sims
    wrong = "Wrong-Canary-Pw-4242"
    monkeypatch.setenv("WRONG_PW", wrong)
    config = write_config(
        tmp_path / "wrong.toml",
        {
            "good-duo": duo_tenant(duo),
            "bad-duo": duo_tenant(duo, password="env:WRONG_PW"),
            "acme-ez": ez_tenant(ez),
        },
    )
    code, out, err = run(capsys, "--config", str(config), "check", "--format", "json")
    assert code == 1, (out, err)  # some tenants failed, the rest were checked
    rows = {row["tenant"]: row for row in json.loads(out)}
    assert rows["bad-duo"]["status"] == "auth refused"
    assert "bad-duo" in rows["bad-duo"]["detail"]
    assert rows["good-duo"]["status"].startswith("ok")
    assert rows["acme-ez"]["status"].startswith("ok")
    assert_no_secrets(out, err)
    assert wrong not in out and wrong not in err
    only_bad = write_config(
        tmp_path / "only-bad.toml", {"bad-duo": duo_tenant(duo, password="env:WRONG_PW")}
    )
    code, out, err = run(capsys, "--config", str(only_bad), "check", "--format", "json")
    assert code == 3, (out, err)  # nothing succeeded and every failure was refused credentials


def test_check_non_auth_failure_is_exit_1(
    capsys: pytest.CaptureFixture[str],
    sims: tuple[SimServer, SimServer, Path],
    duo_sim: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    duo, ez, _ = sims
    monkeypatch.setenv("WRONG_KEY", "EZWRONGKEY77")
    dead = duo_sim(devices=1)
    dead.stop()
    config = write_config(
        tmp_path / "mixed.toml",
        {
            "acme-duo": duo_tenant(duo),
            "bad-ez": ez_tenant(ez, api_key="env:WRONG_KEY"),
            "gone": duo_tenant(dead),
        },
    )
    code, out, err = run(capsys, "--config", str(config), "check", "--format", "json")
    assert code == 1, (out, err)
    rows = {row["tenant"]: row for row in json.loads(out)}
    assert rows["acme-duo"]["status"].startswith("ok")
    assert rows["bad-ez"]["status"] == "auth refused"
    assert rows["gone"]["status"] == "unreachable"
    assert "gone" in rows["gone"]["detail"]
    assert_no_secrets(out, err)


# An unset env: variable is no longer a problem of the file: it fails that tenant alone,
# when it is used (tests/test_fleet_select.py: test_unset_env_var_fails_one_tenant_only).
BAD_CONFIGS = {
    "unknown key": ({"acme-duo": {"retrys": 2}}, ["'acme-duo'", "retrys"]),
    "wrong type": ({"acme-ez": {"retries": "many"}}, ["'acme-ez'", "retries"]),
    "unknown vendor": ({"acme-duo": {"vendor": "jamf"}}, ["'acme-duo'", "vendor"]),
}


@pytest.mark.parametrize("command", ["check", "tenants", "export"])
@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_exits_2_before_any_request(
    capsys: pytest.CaptureFixture[str],
    sims: tuple[SimServer, SimServer, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    command: str,
) -> None:
    duo, ez, _ = sims
    monkeypatch.delenv("UNSET_CANARY_VAR", raising=False)
    change, expected = BAD_CONFIGS[case]
    tenants = {"acme-duo": duo_tenant(duo), "acme-ez": ez_tenant(ez)}
    for name, values in change.items():
        tenants[name] = {**tenants[name], **values}
    config = write_config(tmp_path / "bad.toml", tenants)
    args = ["--config", str(config), command]
    if command == "export":
        args += ["--format", "jsonl", "--output", str(tmp_path / "out.jsonl")]
    code, out, err = run(capsys, *args)
    assert code == 2, (out, err)
    line = assert_one_line_error(err)
    assert line.startswith("mdmbridge: error:")
    for word in expected:
        assert word in line
    assert str(config) in line
    assert_no_secrets(out, err)
    assert duo.count() == 0 and ez.count() == 0
    assert not (tmp_path / "out.jsonl").exists()


def test_unknown_tenant_exits_2(
    capsys: pytest.CaptureFixture[str], sims: tuple[SimServer, SimServer, Path]
) -> None:
    duo, ez, config = sims
    code, _, err = run(capsys, "--config", str(config), "check", "-t", "nope")
    assert code == 2
    line = assert_one_line_error(err)
    assert "'nope'" in line and "acme-duo" in line
    assert duo.count() == 0 and ez.count() == 0


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--workers", "0")
    assert code == 2
    assert "Traceback" not in err
    code, _, err = run(capsys, "no-such-command")
    assert code == 2
    assert "Traceback" not in err


@pytest.mark.parametrize("flag", ["-v", "-vv"])
def test_verbose_logs_to_stderr_without_secrets(
    capsys: pytest.CaptureFixture[str],
    sims: tuple[SimServer, SimServer, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: str,
) -> None:
    duo, ez, _ = sims
    wrong = "Wrong-Canary-Pw-9898"
    monkeypatch.setenv("WRONG_PW", wrong)
    config = write_config(
        tmp_path / "verbose.toml",
        {
            "acme-duo": duo_tenant(duo),
            "acme-ez": ez_tenant(ez),
            "bad-duo": duo_tenant(duo, password="env:WRONG_PW"),
        },
    )
    code, out, err = run(capsys, flag, "--config", str(config), "check", "--format", "json")
    assert code == 1, err  # one tenant refused, the others checked
    assert "mdmbridge" in err and "DEBUG" in err  # log lines reached stderr
    assert "GET" in err
    assert_no_secrets(out, err)
    assert wrong not in err and wrong not in out
    json.loads(out)  # logs never pollute stdout


def test_quiet_by_default(
    capsys: pytest.CaptureFixture[str], sims: tuple[SimServer, SimServer, Path]
) -> None:
    _, _, config = sims
    code, _, err = run(capsys, "--config", str(config), "check", "--format", "json")
    assert code == 0
    assert "DEBUG" not in err and "INFO" not in err


# ---------------------------------------------------------------------------- demo


def test_demo(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "demo"
    users_log = tmp_path / "users-own-audit.jsonl"
    monkeypatch.setenv("MDMBRIDGE_AUDIT_LOG", str(users_log))
    code, out, err = run(capsys, "demo", "--scale", "0.2", "--output", str(output))
    assert code == 0, err

    database = output / "inventory.sqlite"
    with contextlib.closing(sqlite3.connect(database)) as db:
        per_tenant = dict(
            db.execute("SELECT tenant, COUNT(*) FROM devices GROUP BY tenant").fetchall()
        )
        vendors = {v for (v,) in db.execute("SELECT DISTINCT vendor FROM devices")}
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    # Two DuoSTATION tenants, one ezmdm and one Intune tenant, a few thousand devices at scale 1.
    vendors_of = {name: vendor for name, vendor, _, _ in DEMO_FLEET}
    assert Counter(vendors_of.values())["duostation"] >= 2
    assert {"ezmdm", "intune"} <= set(vendors_of.values())
    assert sum(size for _, _, size, _ in DEMO_FLEET) >= 2000
    assert per_tenant == {name: max(1, int(size * 0.2)) for name, _, size, _ in DEMO_FLEET}
    assert vendors == {"duostation", "ezmdm", "intune"}
    assert {"devices", "users", "groups"} <= tables

    devices_csv = output / "csv" / "devices.csv"
    assert devices_csv.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(devices_csv, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(per_tenant.values())
    assert list(rows[0])[:3] == ["tenant", "vendor", "id"]
    text = devices_csv.read_text(encoding="utf-8-sig")
    for letter in "åäö":
        assert letter in text.lower()

    assert "sqlite3" in out and str(database) in out and "SELECT" in out
    assert str(output / "csv") in out
    assert "acme-duo" in out and "acme-ez" in out
    assert "Traceback" not in err
    assert not list(output.rglob("*.partial-*"))
    _demo_changes_are_the_writes(output, out, users_log)


def _demo_changes_are_the_writes(output: Path, out: str, users_log: Path) -> None:
    """The demo's second sync records exactly the writes its audit log says it made, and
    prints exactly those changes."""
    writes = [json.loads(line) for line in (output / "audit.jsonl").read_text().splitlines()]
    assert not users_log.exists()  # the demo's writes never go to the user's own log
    assert {w["source"] for w in writes} == {"demo"} and {w["outcome"] for w in writes} == {"ok"}
    kinds = {"user.create": "added", "user.delete": "removed"}
    fields = {"device.assign-user": "user_id", "device.rename": "name", "user.update": None}
    expected = set()
    for w in writes:
        entity = w["target"]["type"] + "s"
        key = (w["tenant"], entity, w["target"]["id"])
        if w["action"] in kinds:
            expected.add((*key, kinds[w["action"]], None, None))
        else:
            field = fields[w["action"]] or next(iter(w["params"]))
            expected.add((*key, "changed", field, w["params"][field]))
    assert {e[3] for e in expected} == {"added", "removed", "changed"}
    assert len({w["tenant"] for w in writes}) == len(DEMO_FLEET)  # every tenant has its day

    with contextlib.closing(sqlite3.connect(output / "inventory-history.sqlite")) as db:
        runs = db.execute("SELECT id, outcome FROM sync_runs ORDER BY id").fetchall()
        found = db.execute(
            "SELECT tenant, entity, record_id, kind, field, new FROM changes "
            "WHERE run_id = 2 AND (field IS NULL OR field != 'raw')"
        ).fetchall()
    assert runs == [(1, "ok"), (2, "ok")]
    # DuoSTATION moves a device into its new user's group: the one change beside the writes.
    moved_groups = {f for f in found if f[4] == "group_id"}
    duo = {name for name, vendor, _, _ in DEMO_FLEET if vendor == "duostation"}
    reassigned = {(t, e, i) for t, e, i, _, f, _ in expected if f == "user_id" and t in duo}
    assert {f[:3] for f in moved_groups} <= reassigned
    # The sync sees what was written; a created user's new value is not recorded (added).
    assert {(t, e, i, k, f, n if k == "changed" else None) for t, e, i, k, f, n in found} - (
        moved_groups
    ) == expected
    assert len(found) == len(expected) + len(moved_groups)

    table = out[out.index("what sync run 2 found changed") :]
    assert f"found changed: {len(found)} changes" in table
    printed = Counter(m.group(1) for m in re.finditer(r"│ (added|removed|changed) +│", table))
    assert printed == Counter(f[3] for f in found)
    assert f"mdmbridge changes --db {output / 'inventory-history.sqlite'}" in table
    assert f"mdmbridge runs --db {output / 'inventory-history.sqlite'}" in table


# ---------------------------------------------------------------------------- simulate


def _mdmbridge_executable() -> str:
    folder = Path(sys.executable).parent
    found = next(
        (str(folder / name) for name in ("mdmbridge", "mdmbridge.exe") if (folder / name).exists()),
        None,
    )
    if found is None:
        pytest.fail(f"no mdmbridge console script beside {sys.executable}")
    return found


def _read_lines(stream: Any, count: int, timeout: float) -> list[str]:
    lines: list[str] = []

    def reader() -> None:
        for _ in range(count):
            line = stream.readline()
            if not line:
                return
            lines.append(line)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    return lines


def test_simulate_serves_until_sigint(tmp_path: Path) -> None:
    key = "EZCANARYsimulate42"
    env = dict(os.environ, MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop(CONFIG_ENV, None)
    process = subprocess.Popen(
        [_mdmbridge_executable(), "simulate", "ezmdm", "--devices", "7", "--api-key", key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        lines = _read_lines(process.stdout, 4, timeout=15)
        banner = "".join(lines)
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, banner
        assert "7 devices" in banner and key in banner and "Ctrl-C" in banner

        class _Server:
            base_url = match.group(0)

        with connect_ez(_Server(), api_key=key, retries=0) as client:  # type: ignore[arg-type]
            assert len(list(client.devices.list())) == 7

        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=5)
        assert code == 0, process.stderr.read() if process.stderr else ""
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("spec", ["bogus", "status:abc", "status:503:colour=red", ""])
def test_simulate_bad_fault_exits_2(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    code, out, err = run(capsys, "simulate", "duostation", "--devices", "1", "--fault", spec)
    assert code == 2, (out, err)
    assert "--fault" in err and "Traceback" not in err


def test_simulate_unknown_vendor_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "simulate", "jamf")
    assert code == 2
    line = assert_one_line_error(err)
    assert "jamf" in line and "duostation" in line


def test_simulate_wrong_credential_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "simulate", "ezmdm", "--username", "x")
    assert code == 2
    line = assert_one_line_error(err)
    assert "username" in line
