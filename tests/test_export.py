"""Unified export (``mdmbridge export`` and ``mdmbridge.export.export``) against live
simulators: every format, counts per tenant, per-tenant isolation, atomic output."""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import signal
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mdmbridge.export.runner as runner
from mdmbridge.cli import main
from mdmbridge.config import CONFIG_ENV, load_tenants, parse_tenant
from mdmbridge.errors import AuthError
from mdmbridge.export import export
from mdmbridge.export.sinks_files import JsonlSink
from mdmbridge.simulation import SimServer
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

Factory = Callable[..., SimServer]
FORMATS = ("csv", "jsonl", "json", "sqlite", "parquet")
DIRECTORY_FORMATS = ("csv", "parquet")
ENTITIES = ("devices", "users", "groups")
FAST = {"retries": 0, "connect_timeout_s": 2.0, "read_timeout_s": 5.0}
WRONG_PASSWORD = "Wrong-Canary-Pw-5151"

# Keys each vendor's payload carries, proving ``raw`` is the vendor's own JSON.
VENDOR_KEYS = {
    ("duostation", "devices"): {"Id", "SerialNumber", "Platform"},
    ("duostation", "users"): {"Id", "Email", "AccountName"},
    ("duostation", "groups"): {"Id", "Name", "Path"},
    ("ezmdm", "devices"): {"id", "serialNumber", "os"},
    ("ezmdm", "users"): {"id", "email", "groupId"},
    ("ezmdm", "groups"): {"id", "name"},
}


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    monkeypatch.setenv("TEST_WRONG_PASSWORD", WRONG_PASSWORD)
    root = logging.getLogger()
    handlers = list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)


def _toml(value: Any) -> str:
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)


@dataclass
class Fleet:
    servers: dict[str, SimServer]  # tenant -> its simulator
    vendors: dict[str, str]
    tmp: Path
    overrides: dict[str, dict[str, Any]]

    def config(self, **overrides: dict[str, Any]) -> Path:
        """Write the tenants file (optionally with some tenants' settings changed)."""
        lines = []
        for name, server in self.servers.items():
            table: dict[str, Any] = {"vendor": self.vendors[name], "base_url": server.base_url}
            if self.vendors[name] == "duostation":
                table |= {"username": DUO_USER, "password": "env:TEST_DUO_PASSWORD"}
            else:
                table |= {"api_key": "env:TEST_EZ_KEY", "page_size": 25}
            table |= FAST | self.overrides.get(name, {}) | overrides.get(name, {})
            lines.append(f'[tenants."{name}"]')
            lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
            lines.append("")
        path = self.tmp / "tenants.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def expected(self, tenant: str, entity: str) -> int:
        app = self.servers[tenant].app
        if self.vendors[tenant] == "ezmdm":
            return int(app.count(entity.removesuffix("s")))
        return len(getattr(app, entity))

    def requests(self) -> int:
        return sum(s.count() for s in self.servers.values())

    def writes(self) -> int:
        return sum(s.writes() for s in self.servers.values())


@pytest.fixture
def fleet(duo_sim: Factory, ez_sim: Factory, tmp_path: Path) -> Fleet:
    servers = {
        "acme-duo": duo_sim(devices=60, seed=21),
        "nordic-duo": duo_sim(devices=35, seed=22),
        "acme-ez": ez_sim(devices=70, seed=23),
    }
    vendors = {"acme-duo": "duostation", "nordic-duo": "duostation", "acme-ez": "ezmdm"}
    return Fleet(servers, vendors, tmp_path, {})


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def output_path(tmp: Path, fmt: str) -> Path:
    return tmp / ("out" if fmt in DIRECTORY_FORMATS else f"out.{fmt}")


def read_output(path: Path, fmt: str) -> dict[str, list[dict[str, Any]]]:
    """Every entity's rows, with ``raw`` parsed back into the vendor's object."""
    tables: dict[str, list[dict[str, Any]]] = {}
    if fmt == "csv":
        for file in sorted(path.glob("*.csv")):
            with open(file, encoding="utf-8-sig", newline="") as handle:
                tables[file.stem] = list(csv.DictReader(handle))
    elif fmt == "jsonl":
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                tables.setdefault(row.pop("entity"), []).append(row)
    elif fmt == "json":
        tables = json.loads(path.read_text(encoding="utf-8"))
    elif fmt == "sqlite":
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.row_factory = sqlite3.Row
            names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for name in names:
                if name == "_export":  # the run's manifest, not an entity
                    continue
                tables[name] = [dict(r) for r in db.execute(f'SELECT * FROM "{name}"')]
    else:
        import pyarrow.parquet as pq

        for file in sorted(path.glob("*.parquet")):
            tables[file.stem] = pq.read_table(file).to_pylist()
    for rows in tables.values():
        for row in rows:
            if isinstance(row.get("raw"), str):
                row["raw"] = json.loads(row["raw"])
    return tables


def snapshot(path: Path) -> dict[str, bytes]:
    """The bytes of a file, or of every file in a directory."""
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    return {"": path.read_bytes()}


def staging_leftovers(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if ".partial-" in p.name]


def make_previous(path: Path, fmt: str) -> dict[str, bytes]:
    """A pre-existing 'good' output that must survive a failed export untouched."""
    if fmt in DIRECTORY_FORMATS:
        path.mkdir()
        (path / f"devices.{fmt}").write_bytes(b"previous good devices\n")
        (path / f"users.{fmt}").write_bytes(b"previous good users\n")
        # An earlier export's manifest: only a directory mdmbridge wrote is replaced.
        manifest = {"manifest": "mdmbridge-export", "files": [f"devices.{fmt}", f"users.{fmt}"]}
        (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    else:
        path.write_bytes(b"previous good output \xc3\xa5\n")
    return snapshot(path)


def check_tables(fleet: Fleet, tables: dict[str, list[dict[str, Any]]], tenants: list[str]) -> None:
    """Counts per tenant equal the simulators' fleets; the common columns and raw hold."""
    assert set(tables) == set(ENTITIES)
    for entity in ENTITIES:
        rows = tables[entity]
        counts = Counter(row["tenant"] for row in rows)
        assert counts == {t: fleet.expected(t, entity) for t in tenants}, entity
        assert list(rows[0])[:3] == ["tenant", "vendor", "id"] and list(rows[0])[-1] == "raw"
        for row in rows:
            assert row["vendor"] == fleet.vendors[row["tenant"]]
            assert row["id"] not in (None, "")
            assert isinstance(row["raw"], dict)
            assert VENDOR_KEYS[(row["vendor"], entity)] <= set(row["raw"]), row["raw"]
        ids = Counter((row["tenant"], str(row["id"])) for row in rows)
        assert max(ids.values()) == 1  # no row twice


# ---------------------------------------------------------------------------- every format


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_export_every_format(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path, fmt: str
) -> None:
    output = output_path(tmp_path, fmt)
    code, out, err = run(
        capsys, "--config", str(fleet.config()), "export", "--format", fmt, "-o", str(output)
    )
    assert code == 0, err
    if fmt in DIRECTORY_FORMATS:
        names = sorted(p.name for p in output.iterdir())
        assert names == sorted([*(f"{e}.{fmt}" for e in ENTITIES), "manifest.json"])
    tables = read_output(output, fmt)
    check_tables(fleet, tables, list(fleet.servers))

    # The ezmdm payload is exactly what its API serves.
    ez = fleet.servers["acme-ez"].app
    for row in tables["devices"]:
        if row["tenant"] == "acme-ez":
            assert row["raw"] == ez.record("device", str(row["id"]))
    # ... and the DuoSTATION one matches the simulator's record.
    duo = fleet.servers["acme-duo"].app
    for row in tables["devices"]:
        if row["tenant"] == "acme-duo":
            assert row["raw"]["SerialNumber"] == duo.devices[str(row["id"])]["SerialNumber"]
            assert row["serial_number"] == row["raw"]["SerialNumber"]

    assert "wrote" in err and "acme-ez" in err
    assert DUO_PASSWORD not in out + err and EZ_KEY not in out + err
    assert fleet.writes() == 0
    assert not staging_leftovers(tmp_path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_python_api_every_format(fleet: Fleet, tmp_path: Path, fmt: str) -> None:
    tenants = list(load_tenants(fleet.config()).values())
    output = output_path(tmp_path, fmt)
    report = export(tenants, output=output, format=fmt, workers=3)

    assert report.committed and not report.failed
    assert report.output == output and report.format == fmt
    assert [t.tenant for t in report.tenants] == ["acme-duo", "nordic-duo", "acme-ez"]
    for t in report.tenants:
        assert t.counts == {e: fleet.expected(t.tenant, e) for e in ENTITIES}
    assert report.written == {e: sum(fleet.expected(t, e) for t in fleet.servers) for e in ENTITIES}
    check_tables(fleet, read_output(output, fmt), list(fleet.servers))
    assert fleet.writes() == 0
    assert not staging_leftovers(tmp_path)


def test_export_replaces_previous_output(fleet: Fleet, tmp_path: Path) -> None:
    tenants = list(load_tenants(fleet.config()).values())
    output = tmp_path / "out.sqlite"
    make_previous(output, "sqlite")
    report = export(tenants, output=output, format="sqlite")
    assert report.committed
    check_tables(fleet, read_output(output, "sqlite"), list(fleet.servers))
    assert not staging_leftovers(tmp_path)


def test_sqlite_schema(fleet: Fleet, tmp_path: Path) -> None:
    output = tmp_path / "inv.sqlite"
    export(list(load_tenants(fleet.config()).values()), output=output, format="sqlite")
    with contextlib.closing(sqlite3.connect(output)) as db:
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {*ENTITIES, "_export"}  # _export: the run's manifest
        types = {row[1]: row[2] for row in db.execute('PRAGMA table_info("devices")')}
        assert types["tenant"] == types["vendor"] == types["id"] == "TEXT"
        assert types["battery_level"] == "INTEGER"
        assert types["last_seen"] == "TEXT" and types["raw"] == "TEXT"
        for table, lookups in {
            "devices": [("tenant", "serial_number"), ("tenant", "user_id")],
            "users": [("tenant", "email"), ("tenant", "group_id")],
            "groups": [("tenant", "name"), ("tenant", "path")],
        }.items():
            indexes = {}
            for _, name, unique, *_ in db.execute(f'PRAGMA index_list("{table}")'):
                columns = tuple(r[2] for r in db.execute(f'PRAGMA index_info("{name}")'))
                indexes[columns] = bool(unique)
            assert indexes.get(("tenant", "id")) is True, (table, indexes)
            for lookup in lookups:
                assert lookup in indexes, (table, lookup, indexes)
        # The unique index really holds.
        row = db.execute("SELECT * FROM devices LIMIT 1").fetchone()
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(f"INSERT INTO devices VALUES ({', '.join('?' * len(row))})", row)
        # Typed values: integers are integers, timestamps sort as ISO text.
        level = db.execute("SELECT battery_level FROM devices WHERE battery_level IS NOT NULL")
        assert all(isinstance(v, int) for (v,) in level)
        seen = db.execute("SELECT last_seen FROM devices WHERE last_seen IS NOT NULL").fetchone()
        assert seen and seen[0].endswith("Z")


def test_parquet_types_read_back(fleet: Fleet, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    output = tmp_path / "pq"
    export(list(load_tenants(fleet.config()).values()), output=output, format="parquet")
    table = pq.read_table(output / "devices.parquet")
    schema = table.schema
    assert schema.field("tenant").type == pa.string()
    assert schema.field("battery_level").type == pa.int64()
    assert schema.field("last_seen").type == pa.timestamp("us", tz="UTC")
    assert schema.field("raw").type == pa.string()
    assert table.num_rows == sum(fleet.expected(t, "devices") for t in fleet.servers)
    assert table.column("last_seen").null_count < table.num_rows


def test_csv_is_utf8_with_bom_and_names_intact(fleet: Fleet, tmp_path: Path) -> None:
    output = tmp_path / "csv"
    export(list(load_tenants(fleet.config()).values()), output=output, format="csv")
    data = (output / "users.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert any(letter in text for letter in "åäöÅÄÖ")
    with open(output / "users.csv", encoding="utf-8-sig", newline="") as handle:
        names = Counter((r["tenant"], r["name"]) for r in csv.DictReader(handle))
    duo = fleet.servers["acme-duo"].app
    expected = Counter(("acme-duo", u["Name"]) for u in duo.users.values())
    assert {k: v for k, v in names.items() if k[0] == "acme-duo"} == expected
    assert any(ch in name for (_, name) in expected for ch in "åäöÅÄÖ")


def test_only_selected_tenants_and_entities(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path
) -> None:
    output = tmp_path / "sel.jsonl"
    code, _, err = run(
        capsys,
        "--config",
        str(fleet.config()),
        "export",
        "-t",
        "acme-ez",
        "-t",
        "nordic-duo",
        "--entities",
        "devices",
        "--format",
        "jsonl",
        "-o",
        str(output),
    )
    assert code == 0, err
    tables = read_output(output, "jsonl")
    assert set(tables) == {"devices"}
    assert Counter(r["tenant"] for r in tables["devices"]) == {
        "acme-ez": fleet.expected("acme-ez", "devices"),
        "nordic-duo": fleet.expected("nordic-duo", "devices"),
    }
    assert fleet.servers["acme-duo"].count() == 0


def test_all_entities_never_write_and_ezmdm_tags_are_skipped(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path
) -> None:
    output = tmp_path / "all.json"
    code, _, err = run(
        capsys,
        "--config",
        str(fleet.config()),
        "export",
        "--entities",
        "all",
        "--format",
        "json",
        "-o",
        str(output),
    )
    assert code == 0, err
    tables = json.loads(output.read_text(encoding="utf-8"))
    assert {"tags", "device_tags", "apps", "locations"} <= set(tables)
    tag_tenants = {r["tenant"] for r in tables["tags"]}
    assert tag_tenants == {"acme-duo", "nordic-duo"}
    assert {r["tenant"] for r in tables["locations"]} <= {"acme-ez"}
    assert "FAILED" not in err
    ez_row = next(line for line in err.splitlines() if "acme-ez" in line)
    assert "n/a" in ez_row and "FAILED" not in ez_row
    assert fleet.writes() == 0


def test_skipped_entity_in_report(fleet: Fleet, tmp_path: Path) -> None:
    tenants = list(load_tenants(fleet.config()).values())
    report = export(tenants, output=tmp_path / "t.sqlite", entities="devices,tags")
    assert not report.failed and report.committed
    ez = next(t for t in report.tenants if t.tenant == "acme-ez")
    assert "tags" in ez.skipped and "tags" not in ez.counts
    assert ez.counts["devices"] == fleet.expected("acme-ez", "devices")
    duo = next(t for t in report.tenants if t.tenant == "acme-duo")
    assert duo.counts["tags"] == len(fleet.servers["acme-duo"].app.tags) and not duo.skipped


# ---------------------------------------------------------------------------- isolation


def test_bad_credentials_tenant_is_isolated(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path
) -> None:
    """Issue: one tenant failing (auth, 5xx storm, timeout) does not stop the others; the
    summary names each failure and its reason; exit code 1."""
    config = fleet.config(**{"nordic-duo": {"password": "env:TEST_WRONG_PASSWORD"}})
    output = tmp_path / "iso.sqlite"
    code, out, err = run(
        capsys, "--config", str(config), "export", "--format", "sqlite", "-o", str(output)
    )
    tables = read_output(output, "sqlite")
    assert {r["tenant"] for e in ENTITIES for r in tables[e]} == {"acme-duo", "acme-ez"}
    check_tables(fleet, tables, ["acme-duo", "acme-ez"])
    failed = [line for line in err.splitlines() if "FAILED nordic-duo" in line]
    assert failed and ("401" in failed[0] or "denied" in failed[0].lower()), err
    assert WRONG_PASSWORD not in out + err and DUO_PASSWORD not in out + err
    assert not staging_leftovers(tmp_path)
    assert code == 1, f"one tenant failed, the others exported: exit {code}\n{err}"


def test_python_api_reports_auth_failure(fleet: Fleet, tmp_path: Path) -> None:
    config = fleet.config(**{"acme-duo": {"password": "env:TEST_WRONG_PASSWORD"}})
    report = export(
        list(load_tenants(config).values()), output=tmp_path / "a.jsonl", format="jsonl"
    )
    assert report.committed
    assert [t.tenant for t in report.failed] == ["acme-duo"]
    assert isinstance(report.failed[0].error, AuthError)
    assert report.written["devices"] == fleet.expected("nordic-duo", "devices") + fleet.expected(
        "acme-ez", "devices"
    )


def test_503_storm_tenant_is_isolated(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path
) -> None:
    storm = fleet.servers["acme-ez"]
    storm.faults.add("status", status=503, times=None)
    output = tmp_path / "storm"
    code, _, err = run(
        capsys, "--config", str(fleet.config()), "export", "--format", "csv", "-o", str(output)
    )
    assert code == 1, err
    check_tables(fleet, read_output(output, "csv"), ["acme-duo", "nordic-duo"])
    failed = [line for line in err.splitlines() if "FAILED acme-ez" in line]
    assert failed and "503" in failed[0], err
    assert storm.count() >= 1
    assert not staging_leftovers(tmp_path)


def test_truncated_stream_drops_the_whole_tenant(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, fleet: Fleet, tmp_path: Path
) -> None:
    """A big DuoSTATION fleet whose device listing is cut mid-body: none of the rows that
    did arrive reach the output; the other tenants are written over the old output."""
    big = duo_sim(devices=3000, seed=24)
    big.faults.add("truncate", path="/devices", times=None)
    fleet.servers["big-duo"] = big
    fleet.vendors["big-duo"] = "duostation"
    output = tmp_path / "trunc.sqlite"
    make_previous(output, "sqlite")
    code, _, err = run(
        capsys, "--config", str(fleet.config()), "export", "--format", "sqlite", "-o", str(output)
    )
    assert code == 1, err
    assert "FAILED big-duo" in err
    del fleet.servers["big-duo"]
    check_tables(fleet, read_output(output, "sqlite"), list(fleet.servers))
    assert not staging_leftovers(tmp_path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_tenant_failing_commits_nothing(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path, fmt: str
) -> None:
    fleet.servers["acme-ez"].faults.add("status", status=503, times=None)
    config = fleet.config(
        **{
            "acme-duo": {"password": "env:TEST_WRONG_PASSWORD"},
            "nordic-duo": {"password": "env:TEST_WRONG_PASSWORD"},
        }
    )
    output = output_path(tmp_path, fmt)
    before = make_previous(output, fmt)
    code, _, err = run(
        capsys, "--config", str(config), "export", "--format", fmt, "-o", str(output)
    )
    assert code == 1, err  # not all failures were refused credentials
    assert snapshot(output) == before
    assert "nothing written" in err
    for tenant in fleet.servers:
        assert f"FAILED {tenant}" in err
    assert not staging_leftovers(tmp_path)


def test_every_tenant_refused_is_exit_3(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path
) -> None:
    del fleet.servers["acme-ez"]
    config = fleet.config(
        **{
            "acme-duo": {"password": "env:TEST_WRONG_PASSWORD"},
            "nordic-duo": {"password": "env:TEST_WRONG_PASSWORD"},
        }
    )
    output = tmp_path / "none.sqlite"
    code, _, err = run(capsys, "--config", str(config), "export", "-o", str(output))
    assert code == 3, err
    assert not output.exists()
    assert not staging_leftovers(tmp_path)


# ---------------------------------------------------------------------------- atomicity


@pytest.mark.parametrize("fmt", FORMATS)
def test_sink_failure_mid_write_leaves_previous_output(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The disk fills while the sink writes: the old output stays byte-identical and no
    staging file is left behind."""
    real_rows = runner.read_rows

    def failing_rows(folders: list[Path], entity: str) -> Iterator[dict[str, Any]]:
        for number, row in enumerate(real_rows(folders, entity)):
            if entity == "users" and number == 10:
                raise OSError(28, "No space left on device")
            yield row

    monkeypatch.setattr(runner, "read_rows", failing_rows)
    # jsonl lines are encoded by the collecting workers and copied in whole: the disk
    # fills half-way through copying a tenant's users.
    real_add_encoded = JsonlSink.add_encoded

    def failing_add_encoded(self: JsonlSink, entity: Any, lines: Path, count: int) -> int:
        if entity.name == "users":
            self._handle.write(lines.read_bytes()[:100])
            raise OSError(28, "No space left on device")
        return real_add_encoded(self, entity, lines, count)

    monkeypatch.setattr(JsonlSink, "add_encoded", failing_add_encoded)
    output = output_path(tmp_path, fmt)
    before = make_previous(output, fmt)
    with pytest.raises(OSError, match="No space"):
        export(list(load_tenants(fleet.config()).values()), output=output, format=fmt)
    assert snapshot(output) == before
    assert not staging_leftovers(tmp_path)


def test_sink_failure_through_the_cli(
    capsys: pytest.CaptureFixture[str],
    fleet: Fleet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_rows(folders: list[Path], entity: str) -> Iterator[dict[str, Any]]:
        raise OSError(28, "No space left on device")
        yield {}

    monkeypatch.setattr(runner, "read_rows", failing_rows)
    output = tmp_path / "disk.sqlite"
    before = make_previous(output, "sqlite")
    code, _, err = run(capsys, "--config", str(fleet.config()), "export", "-o", str(output))
    assert code != 0
    assert "No space left on device" in err and "Traceback" not in err
    assert snapshot(output) == before
    assert not staging_leftovers(tmp_path)


@pytest.mark.parametrize("fmt", ["sqlite", "csv", "jsonl"])
def test_interrupted_export_leaves_previous_output_and_no_staging(
    fleet: Fleet, tmp_path: Path, fmt: str
) -> None:
    """Ctrl-C while tenants are being read: the old output is untouched and the staging
    output opened for this export is removed."""
    interrupted: list[bool] = []

    def progress(tenant: str, entity: str, count: int) -> None:
        if not interrupted:
            interrupted.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does: the main thread is hit

    output = output_path(tmp_path, fmt)
    before = make_previous(output, fmt)
    with pytest.raises(KeyboardInterrupt):
        export(
            list(load_tenants(fleet.config()).values()),
            output=output,
            format=fmt,
            progress=progress,
        )
    assert interrupted
    assert snapshot(output) == before
    assert not staging_leftovers(tmp_path), staging_leftovers(tmp_path)


# ---------------------------------------------------------------------------- usage errors


def test_unknown_entity_exits_2(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, tmp_path: Path
) -> None:
    output = tmp_path / "x.sqlite"
    code, _, err = run(
        capsys,
        "--config",
        str(fleet.config()),
        "export",
        "--entities",
        "devices,gadgets",
        "-o",
        str(output),
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "gadgets" in lines[0] and "Traceback" not in err
    assert not output.exists() and not staging_leftovers(tmp_path)
    assert fleet.requests() == 0


@pytest.mark.parametrize(
    ("fmt", "target", "word"),
    [
        ("csv", "existing-file", "directory"),
        ("parquet", "existing-file", "directory"),
        ("sqlite", "missing-folder", "does not exist"),
        ("jsonl", "missing-folder", "does not exist"),
        ("csv", "missing-folder", "does not exist"),
        ("json", "existing-dir", "directory"),
        ("sqlite", "existing-dir", "directory"),
    ],
)
def test_bad_output_exits_2(
    capsys: pytest.CaptureFixture[str],
    fleet: Fleet,
    tmp_path: Path,
    fmt: str,
    target: str,
    word: str,
) -> None:
    if target == "existing-file":
        output = tmp_path / "taken.txt"
        output.write_text("keep me", encoding="utf-8")
    elif target == "existing-dir":
        output = tmp_path / "folder"
        output.mkdir()
    else:
        output = tmp_path / "no" / "such" / "folder" / "out"
    code, _, err = run(
        capsys, "--config", str(fleet.config()), "export", "--format", fmt, "-o", str(output)
    )
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(output) in lines[0] and word in lines[0] and "Traceback" not in err
    if target == "existing-file":
        assert output.read_text(encoding="utf-8") == "keep me"
    if target == "existing-dir":
        assert list(output.iterdir()) == []
    assert not (tmp_path / "no").exists()
    assert fleet.requests() == 0
    assert not staging_leftovers(tmp_path)


def test_worker_processes_give_the_same_export_as_threads(
    duo_sim: Callable[..., SimServer], ez_sim: Callable[..., SimServer], tmp_path: Path
) -> None:
    """--processes reads tenants in spawned worker processes; the output must not differ,
    and a failing tenant is still isolated and named."""
    duo, ez = duo_sim(devices=40, seed=31), ez_sim(devices=30, seed=32)
    tenants = [
        parse_tenant(
            "p-duo",
            {
                "vendor": "duostation",
                "base_url": duo.base_url,
                "username": DUO_USER,
                "password": DUO_PASSWORD,
            },
        ),
        parse_tenant("p-ez", {"vendor": "ezmdm", "base_url": ez.base_url, "api_key": EZ_KEY}),
        parse_tenant(
            "p-bad", {"vendor": "ezmdm", "base_url": ez.base_url, "api_key": "WRONGKEY12345"}
        ),
    ]
    threads = export(
        tenants, output=tmp_path / "threads.jsonl", format="jsonl", entities="devices,users"
    )
    processes = export(
        tenants,
        output=tmp_path / "procs.jsonl",
        format="jsonl",
        entities="devices,users",
        processes=2,
    )
    assert processes.written == threads.written == {"devices": 70, "users": 56}
    assert (tmp_path / "procs.jsonl").read_bytes() == (tmp_path / "threads.jsonl").read_bytes()
    failed = {t.tenant: type(t.error).__name__ for t in processes.failed}
    assert failed == {"p-bad": "AuthError"}
