"""CLI output for people and for scripts: tables that fit the terminal, ``--columns`` and
``--limit``, the pager (only on a terminal), ``get --format json`` as an object, a closed
pipe (``| head -1``) as a quiet success, and the export summary's counts never cut.

In-process ``main([...])`` against live simulators; the pipe and the terminal cases run
the real ``mdmbridge`` executable, on a real pipe and on a pty."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pty
import re
import select
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mdmbridge.cli import main
from mdmbridge.cli.table import Column, clean, ranked, render
from mdmbridge.config import CONFIG_ENV
from mdmbridge.simulation import SimServer
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

Factory = Callable[..., SimServer]
FAST = {"retries": 0, "connect_timeout_s": 2.0, "read_timeout_s": 10.0}
MDMBRIDGE = str(Path(sys.executable).with_name("mdmbridge"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Env:
    duo: SimServer
    ez: SimServer
    config: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def environment(self, **extra: str) -> dict[str, str]:
        """For a child process: the secrets, no terminal size or pager from outside."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("COLUMNS", "LINES", "PAGER", "MDMBRIDGE_PAGER", "LESS", CONFIG_ENV)
        }
        return {**env, "TEST_DUO_PASSWORD": DUO_PASSWORD, "TEST_EZ_KEY": EZ_KEY, **extra}


def _toml(value: Any) -> str:
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)


def write_config(path: Path, tenants: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for name, table in tenants.items():
        lines.append(f'[tenants."{name}"]')
        lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def duo_settings(server: SimServer) -> dict[str, Any]:
    return {
        "vendor": "duostation",
        "base_url": server.base_url,
        "username": DUO_USER,
        "password": "env:TEST_DUO_PASSWORD",
        **FAST,
    }


def ez_settings(server: SimServer, **more: Any) -> dict[str, Any]:
    return {
        "vendor": "ezmdm",
        "base_url": server.base_url,
        "api_key": "env:TEST_EZ_KEY",
        **FAST,
        **more,
    }


@pytest.fixture
def env(
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Env:
    for name in ("COLUMNS", "LINES", "PAGER", "MDMBRIDGE_PAGER", "NO_COLOR", CONFIG_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    duo, ez = duo_sim(devices=40, seed=3), ez_sim(devices=60, seed=4)
    config = write_config(
        tmp_path / "tenants.toml",
        {"duo": duo_settings(duo), "ez": ez_settings(ez, page_size=25)},
    )
    return Env(duo, ez, config, capsys)


def devices_of(env: Env, tenant: str) -> list[dict[str, Any]]:
    listed = env("devices", "list", tenant, "--format", "json")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert isinstance(rows, list) and rows
    return rows


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("│")]


def named(header: str, known: dict[str, Any]) -> list[str]:
    """The column names of a header line, whose names may be cut ("serial_numb…")."""
    names = []
    for cell in cells(header):
        (name,) = [
            k for k in known if k == cell or (cell.endswith("…") and k.startswith(cell[:-1]))
        ]
        names.append(name)
    return names


# --------------------------------------------------------------------------- fitting


@pytest.mark.parametrize("tenant", ["duo", "ez"])
def test_a_table_at_80_columns_has_one_line_per_device(
    env: Env, monkeypatch: pytest.MonkeyPatch, tenant: str
) -> None:
    devices = devices_of(env, tenant)
    monkeypatch.setenv("COLUMNS", "80")
    shown = env("devices", "list", tenant)
    assert shown.code == 0 and shown.err == ""
    lines = shown.out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    title, header, rule, *rows = lines
    assert title == f"devices in {tenant} ({'duostation' if tenant == 'duo' else 'ezmdm'})"
    assert set(rule) <= {"─", "┼"}
    assert len(rows) == len(devices)  # one line per device, none wrapped over several
    names = named(header, devices[0])
    assert names[0] == "id" and "raw" not in names and len(names) >= 3
    assert "udid" not in names  # the least important go first
    for device, row in zip(devices, rows, strict=True):
        assert cells(row)[0] == device["id"]  # ids are never cut: they are what get takes


def test_cells_are_cut_with_an_ellipsis_and_the_important_columns_stay(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = devices_of(env, "duo")
    monkeypatch.setenv("COLUMNS", "100")
    lines = env("devices", "list", "duo").out.splitlines()
    header = named(lines[1], devices[0])
    assert {"id", "name", "serial_number", "platform", "os_version"} <= set(header)
    at = header.index("name")
    shown = [cells(line)[at] for line in lines[3:]]
    cut = [(s, d["name"]) for s, d in zip(shown, devices, strict=True) if s != d["name"]]
    assert cut, "some names are longer than their share of 100 columns"
    assert all(s.endswith("…") and full.startswith(s[:-1]) for s, full in cut)


def test_piped_tables_are_whole_one_line_per_row(env: Env) -> None:
    devices = devices_of(env, "duo")
    shown = env("devices", "list", "duo")  # no COLUMNS, not a terminal: no width limit
    lines = shown.out.splitlines()
    assert len(lines) == 3 + len(devices)
    assert max(len(line) for line in lines) > 200  # not squeezed to 200 (or 80)
    assert "…" not in shown.out
    header = cells(lines[1])
    for device, line in zip(devices, lines[3:], strict=True):
        row = dict(zip(header, cells(line), strict=True))
        assert row["udid"] == (device["udid"] or "") and row["name"] == device["name"]


def test_every_table_fits_not_only_listings(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    device = devices_of(env, "ez")[0]
    for args in (
        ("devices", "get", "ez", device["id"], "--raw"),
        ("users", "list", "ez"),
        ("find", "--serial", device["serial_number"]),
        ("check",),
        ("adapters",),
    ):
        shown = env(*args)
        assert shown.code == 0, (args, shown.err)
        table = [line for line in shown.out.splitlines() if "│" in line or "─" in line]
        assert len(table) >= 3 and all(len(line) <= 60 for line in table), args


# --------------------------------------------------------------------------- --columns, --limit


def test_columns_picks_and_orders_in_every_format(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = devices_of(env, "duo")
    pick = "serial_number,id,last_seen,udid"
    as_json = json.loads(env("devices", "list", "duo", "--columns", pick, "--format", "json").out)
    assert [list(row) for row in as_json] == [pick.split(",")] * len(devices)
    assert [row["id"] for row in as_json] == [d["id"] for d in devices]
    as_csv = env("devices", "list", "duo", "--columns", pick, "--format", "csv").out
    assert as_csv.splitlines()[0] == pick
    assert [r["udid"] for r in csv.DictReader(io.StringIO(as_csv))] == [d["udid"] for d in devices]
    monkeypatch.setenv("COLUMNS", "80")
    table = env("devices", "list", "duo", "--columns", "name, Serial-Number ,tenant").out
    lines = table.splitlines()
    assert cells(lines[1]) == ["name", "serial_number", "tenant"]  # named: none dropped
    assert all(len(line) <= 80 for line in lines)
    assert cells(lines[3]) == [devices[0]["name"], devices[0]["serial_number"], "duo"]


def test_an_unknown_column_is_a_usage_error_before_any_request(env: Env) -> None:
    env.duo.reset_counts()
    refused = env("devices", "list", "duo", "--columns", "id,colour")
    assert refused.code == 2 and refused.out == ""
    (line,) = refused.err.strip().splitlines()
    assert "'colour'" in line and "serial_number" in line and "last_seen" in line
    assert "Traceback" not in refused.err
    assert env.duo.count() == 0
    assert env("devices", "list", "duo", "--columns", " , ").code == 2


def test_limit_stops_reading(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = devices_of(env, "ez")
    env.ez.reset_counts()
    assert len(devices_of(env, "ez")) == 60
    full_requests = env.ez.count()
    env.ez.reset_counts()
    limited = env("devices", "list", "ez", "--limit", "5", "--format", "json")
    assert [d["id"] for d in json.loads(limited.out)] == [d["id"] for d in everything[:5]]
    assert env.ez.count() < full_requests  # the later pages were never fetched
    lines = env("devices", "list", "ez", "--limit", "3").out.splitlines()
    assert len(lines) == 3 + 3
    assert env("devices", "list", "ez", "--limit", "0").code == 2


def test_locations_take_the_listing_options(env: Env) -> None:
    device = devices_of(env, "ez")[0]["id"]
    shown = env("devices", "locations", "ez", device, "--columns", "latitude,device_id",
                "--limit", "1", "--format", "jsonl")  # fmt: skip
    assert shown.code == 0, shown.err
    rows = [json.loads(line) for line in shown.out.splitlines()]
    assert len(rows) <= 1 and all(list(r) == ["latitude", "device_id"] for r in rows)


# --------------------------------------------------------------------------- json shapes


def test_get_prints_an_object_and_list_a_list(env: Env) -> None:
    device = devices_of(env, "duo")[0]
    got = env("devices", "get", "duo", device["id"], "--format", "json")
    assert got.code == 0, got.err
    record = json.loads(got.out)
    assert isinstance(record, dict) and record["id"] == device["id"] and "raw" not in record
    group = json.loads(env("groups", "get", "duo", "1", "--format", "json").out)
    assert isinstance(group, dict) and group["id"] == "1"
    listed = json.loads(env("groups", "list", "duo", "--limit", "1", "--format", "json").out)
    assert isinstance(listed, list) and len(listed) == 1


# --------------------------------------------------------------------------- pipes


def test_a_closed_pipe_is_a_quiet_success(
    env: Env, ez_sim: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = ez_sim(devices=1500, seed=9)  # far more than a pipe's buffer holds
    config = write_config(tmp_path / "big.toml", {"big": ez_settings(big, page_size=100)})
    for fmt in ("jsonl", "csv", "table", "json"):
        producer = subprocess.Popen(
            [MDMBRIDGE, "--config", str(config), "devices", "list", "big", "--format", fmt],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env.environment(),
        )
        assert producer.stdout is not None and producer.stderr is not None
        head = subprocess.run(
            ["head", "-1"], stdin=producer.stdout, capture_output=True, timeout=60
        )
        producer.stdout.close()  # only head reads it now
        err = producer.stderr.read().decode()
        assert producer.wait(timeout=60) == 0, (fmt, err)
        assert err == "", fmt
        assert head.returncode == 0 and len(head.stdout.splitlines()) == 1, fmt


# --------------------------------------------------------------------------- the pager


def run_on_a_terminal(
    argv: list[str], env: dict[str, str], *, rows: int = 24, columns: int = 80
) -> str:
    """``argv`` with a pty as stdout and stderr (``rows`` x ``columns``); what it showed."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    child = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    seen = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            child.kill()
            raise AssertionError(f"no output for 60 s: {bytes(seen[-300:])!r}")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert child.wait(timeout=60) == 0, bytes(seen[-500:])
    return ANSI.sub("", seen.decode("utf-8", "replace")).replace("\r\n", "\n")


@pytest.fixture
def recording_pager(tmp_path: Path) -> tuple[Path, Path]:
    """A pager that keeps what it was given (and shows nothing), and where it keeps it."""
    record = tmp_path / "paged.txt"
    script = tmp_path / "record-pager"
    script.write_text(f"#!/bin/sh\ncat > '{record}'\n", encoding="utf-8")
    script.chmod(0o755)
    return script, record


def test_a_long_table_on_a_terminal_goes_through_the_pager(
    env: Env, recording_pager: tuple[Path, Path]
) -> None:
    devices = devices_of(env, "duo")
    script, record = recording_pager
    argv = [MDMBRIDGE, "--config", str(env.config), "devices", "list", "duo"]
    shown = run_on_a_terminal(argv, env.environment(PAGER=str(script)))
    paged = record.read_text(encoding="utf-8")
    lines = ANSI.sub("", paged).splitlines()
    assert len(lines) == 3 + len(devices) and lines[0] == "devices in duo (duostation)"
    assert all(len(line) <= 80 for line in lines)  # fitted to the terminal's 80 columns
    assert devices[0]["id"] in paged and devices[0]["id"] not in shown
    assert "\x1b[1m" in paged  # the header is bold for a terminal (less -R shows it)


def test_no_pager_when_it_fits_is_turned_off_or_not_a_terminal(
    env: Env, recording_pager: tuple[Path, Path]
) -> None:
    script, record = recording_pager
    base = [MDMBRIDGE, "--config", str(env.config), "devices", "list", "duo"]
    paging = env.environment(PAGER=str(script))
    cases: list[tuple[list[str], dict[str, str]]] = [
        ([*base, "--limit", "5"], paging),  # fits on the screen
        ([*base, "--no-pager"], paging),
        (base, {**paging, "MDMBRIDGE_PAGER": ""}),  # overrides PAGER, and turns it off
        (base, env.environment(PAGER="cat")),
    ]
    for argv, child_env in cases:
        shown = run_on_a_terminal(argv, child_env)
        assert not record.exists(), argv
        assert "devices in duo (duostation)" in shown and "│" in shown
    piped = subprocess.run(base, env=paging, capture_output=True, timeout=60)  # never paged
    assert piped.returncode == 0 and not record.exists()
    assert piped.stdout.decode().count("\n") == 3 + 40 and b"\x1b[" not in piped.stdout


# --------------------------------------------------------------------------- export summary


def test_the_export_summary_keeps_whole_counts_at_80_columns(
    duo_sim: Factory,
    ez_sim: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    monkeypatch.setenv("COLUMNS", "80")
    names = ["acme-stockholm-north-field-devices", "acme-goteborg-harbour-warehouse-fleet"]
    duo, ez = duo_sim(devices=1234, seed=1), ez_sim(devices=1100, seed=2)
    config = write_config(
        tmp_path / "tenants.toml",
        {names[0]: duo_settings(duo), names[1]: ez_settings(ez, page_size=100)},
    )
    output = tmp_path / "inventory.sqlite"
    capsys.readouterr()
    code = main(["--config", str(config), "export", "-o", str(output),
                 "--entities", "devices,users,groups,tags"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    with contextlib.closing(sqlite3.connect(output)) as db:
        expected = {
            (tenant, entity): count
            for entity in ("devices", "users", "groups", "tags")
            for tenant, count in db.execute(
                f"SELECT tenant, COUNT(*) FROM {entity} GROUP BY tenant"
            )
        }
    lines = [line for line in err.splitlines() if "│" in line or "─" in line]
    assert len(lines) == 4 and all(len(line) <= 80 for line in lines), err
    header = cells(lines[0])
    assert header[3:] == ["devices", "users", "groups", "tags", "seconds"]  # whole
    header[:3] = ["tenant", "vendor", "status"]  # these may be cut
    rows = [dict(zip(header, cells(line), strict=True)) for line in lines[2:]]
    for row, tenant in zip(rows, names, strict=True):
        assert tenant.startswith(row["tenant"].rstrip("…"))  # names are cut, not counts
        for entity in ("devices", "users", "groups"):
            assert row[entity] == str(expected[tenant, entity]), (tenant, entity)
        assert re.fullmatch(r"\d+\.\d\d", row["seconds"])
    assert rows[0]["devices"] == "1234" and rows[1]["devices"] == "1100"
    assert rows[0]["tags"] == str(expected[names[0], "tags"]) and rows[1]["tags"] == "n/a"


# --------------------------------------------------------------------------- the renderer


def test_vendor_text_cannot_break_lines_or_drive_the_terminal() -> None:
    evil = "Kassa\n1\x1b]0;pwned\x07\x1b[2J\tend"
    lines = render(ranked(["id", "name"]), [["7", clean(evil)]], width=40)
    assert len(lines) == 3 and "\x1b" not in "".join(lines) and "\x07" not in "".join(lines)
    assert cells(lines[2])[1].startswith("Kassa 1?]0;pwned")


def test_wide_characters_are_measured_as_two_cells() -> None:
    from rich.cells import cell_len

    rows = [["1", "東京の端末 " * 6, "ok"], ["2", "Åsa", "ok"]]
    columns = [Column("id", keep=True), Column("name", rank=1), Column("status", rank=2)]
    for width in (30, 41, 80):
        lines = render(columns, rows, width=width)
        assert all(cell_len(line) <= width for line in lines), (width, lines)
        assert all(len(cells(line)) == 3 for line in lines[2:])


def test_a_count_never_shrinks_even_when_the_terminal_is_too_narrow() -> None:
    columns = [Column("tenant"), Column("devices", right=True, keep=True)]
    lines = render(columns, [["a-very-long-tenant-name", "123456789"]], width=16, shed=False)
    assert cells(lines[-1]) == ["a-ve…", "123456789"]
