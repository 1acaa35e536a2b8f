"""The export's one set of rules for every format (issue 12), against live simulators: the
format from the extension, one csv/parquet file, stdout, directories replaced whole and only
when mdmbridge wrote them, the manifest in every output that has room for one, ``--report``
for cron jobs, and ``--where`` filtering exported rows."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mdmbridge.config import load_tenants
from mdmbridge.errors import ConfigError
from mdmbridge.export import export
from tests.support import DUO_PASSWORD, EZ_KEY
from tests.test_export import (
    ENTITIES,
    WRONG_PASSWORD,
    Factory,
    Fleet,
    read_output,
    run,
    snapshot,
    staging_leftovers,
)
from tests.test_export import _hermetic as _hermetic  # autouse: the fleet's environment

Capsys = pytest.CaptureFixture[str]
BAD_NORDIC = {"nordic-duo": {"password": "env:TEST_WRONG_PASSWORD"}}


@pytest.fixture
def fleet(duo_sim: Factory, ez_sim: Factory, tmp_path: Path) -> Fleet:
    """Two DuoSTATION tenants and one ezmdm, as in tests/test_export.py."""
    servers = {
        "acme-duo": duo_sim(devices=60, seed=21),
        "nordic-duo": duo_sim(devices=35, seed=22),
        "acme-ez": ez_sim(devices=70, seed=23),
    }
    vendors = {"acme-duo": "duostation", "nordic-duo": "duostation", "acme-ez": "ezmdm"}
    return Fleet(servers, vendors, tmp_path, {})


def cli_export(capsys: Capsys, fleet: Fleet, *args: str, config: Path | None = None) -> Any:
    return run(capsys, "--config", str(config or fleet.config()), "export", *args)


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mdmbridge: error: "), err
    assert "Traceback" not in err
    return lines[0]


def total(fleet: Fleet, entity: str, tenants: list[str] | None = None) -> int:
    return sum(fleet.expected(t, entity) for t in tenants or fleet.servers)


def sqlite_manifest(path: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM _export")}


# ------------------------------------------------------------------ format from the name


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("inv.jsonl", "jsonl"), ("inv.json", "json"), ("inv.db", "sqlite"), ("inv.sqlite", "sqlite")],
)
def test_format_comes_from_the_extension(
    capsys: Capsys, fleet: Fleet, tmp_path: Path, name: str, fmt: str
) -> None:
    output = tmp_path / name
    code, out, err = cli_export(capsys, fleet, "-o", str(output))
    assert code == 0, err
    head = output.read_bytes()[:16]
    assert head.startswith(b"SQLite format 3") == (fmt == "sqlite")
    tables = read_output(output, fmt)
    assert {e: len(rows) for e, rows in tables.items()} == {e: total(fleet, e) for e in ENTITIES}
    assert f"({fmt})" in err and out == ""


@pytest.mark.parametrize("name", ["inv.txt", "inventory", "report.xlsx"])
def test_unknown_or_missing_extension_is_a_usage_error(
    capsys: Capsys, fleet: Fleet, tmp_path: Path, name: str
) -> None:
    output = tmp_path / name
    line = one_line_error(*cli_export(capsys, fleet, "-o", str(output))[::2])
    assert str(output) in line and "--format" in line
    assert ".sqlite" in line and ".jsonl" in line and ".parquet" in line  # the known ones
    if "." in name:
        assert repr(Path(name).suffix) in line
    assert not output.exists() and fleet.requests() == 0
    assert list(tmp_path.iterdir()) == [tmp_path / "tenants.toml"]


def test_format_and_extension_disagreeing_is_refused(
    capsys: Capsys, fleet: Fleet, tmp_path: Path
) -> None:
    output = tmp_path / "inv.jsonl"
    line = one_line_error(*cli_export(capsys, fleet, "--format", "sqlite", "-o", str(output))[::2])
    assert "--format sqlite" in line and ".jsonl" in line and "jsonl" in line
    assert not output.exists() and fleet.requests() == 0


def test_format_with_a_neutral_name_is_used(capsys: Capsys, fleet: Fleet, tmp_path: Path) -> None:
    output = tmp_path / "nightly.out"
    code, _, err = cli_export(capsys, fleet, "--format", "jsonl", "-o", str(output))
    assert code == 0, err
    assert sum(1 for _ in output.open(encoding="utf-8")) == sum(total(fleet, e) for e in ENTITIES)


# ------------------------------------------------------------------ one file, stdout


@pytest.mark.parametrize("given", [True, False])
def test_one_entity_csv_is_that_file(
    capsys: Capsys, fleet: Fleet, tmp_path: Path, given: bool
) -> None:
    output = tmp_path / "users.csv"
    args = ["--format", "csv"] if given else []
    code, _, err = cli_export(capsys, fleet, *args, "--entities", "users", "-o", str(output))
    assert code == 0, err
    assert output.is_file() and output.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(output, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert Counter(r["tenant"] for r in rows) == {
        t: fleet.expected(t, "users") for t in fleet.servers
    }
    assert not staging_leftovers(tmp_path)


def test_one_entity_parquet_is_that_file(capsys: Capsys, fleet: Fleet, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    output = tmp_path / "devices.parquet"
    code, _, err = cli_export(capsys, fleet, "--entities", "devices", "-o", str(output))
    assert code == 0, err
    table = pq.read_table(output)
    assert table.num_rows == total(fleet, "devices") and "serial_number" in table.column_names
    assert not staging_leftovers(tmp_path)


@pytest.mark.parametrize("name", ["users.csv", "devices.parquet"])
def test_one_file_with_several_entities_is_refused(
    capsys: Capsys, fleet: Fleet, tmp_path: Path, name: str
) -> None:
    output = tmp_path / name
    line = one_line_error(*cli_export(capsys, fleet, "-o", str(output))[::2])
    assert "--entities" in line and "devices, users, groups" in line and "directory" in line
    assert not output.exists() and fleet.requests() == 0


def test_jsonl_to_stdout_with_summary_on_stderr(capsys: Capsys, fleet: Fleet) -> None:
    config = fleet.config(**BAD_NORDIC)
    code, out, err = cli_export(
        capsys, fleet, "--format", "jsonl", "-o", "-", "--manifest-line", config=config
    )
    assert code == 1, err
    lines = [json.loads(line) for line in out.splitlines()]
    manifest, rows = lines[0], lines[1:]
    assert manifest["entity"] == "_export" and manifest["format"] == "jsonl"
    statuses = {t["tenant"]: t["status"] for t in manifest["tenants"]}
    assert statuses == {"acme-duo": "ok", "nordic-duo": "failed", "acme-ez": "ok"}
    # The failed tenant's rows never reached the pipe; the others' did, whole.
    assert Counter(r["entity"] for r in rows) == {
        e: total(fleet, e, ["acme-duo", "acme-ez"]) for e in ENTITIES
    }
    assert "nordic-duo" not in {r["tenant"] for r in rows}
    assert "FAILED nordic-duo" in err and "wrote" in err  # the summary: stderr only
    assert WRONG_PASSWORD not in out + err and DUO_PASSWORD not in out + err


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_json_and_csv_to_stdout(capsys: Capsys, fleet: Fleet, fmt: str) -> None:
    code, out, err = cli_export(capsys, fleet, "--format", fmt, "--entities", "groups", "-o", "-")
    assert code == 0, err
    if fmt == "json":
        groups = json.loads(out)["groups"]
    else:
        groups = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert len(groups) == total(fleet, "groups") and {g["tenant"] for g in groups} == set(
        fleet.servers
    )


def test_stdout_into_a_reader_that_leaves_early(fleet: Fleet, tmp_path: Path) -> None:
    """``-o - | head -1``: the reader leaving is not a failed write: exit 0, no message."""
    command = [str(Path(sys.executable).with_name("mdmbridge")), "--config", str(fleet.config())]
    command += ["export", "--entities", "devices", "--format", "csv", "-o", "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stderr is not None
        header = child.stdout.readline()
        child.stdout.close()  # what head does after its line
        err = child.stderr.read().decode()
        code = child.wait(timeout=60)
    assert header.startswith(b"\xef\xbb\xbftenant,vendor,id,")
    assert code == 0, err
    assert "error" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "sqlite"], ["--format sqlite", "stdout"]),
        (["--format", "parquet"], ["--format parquet", "stdout"]),
        ([], ["stdout", "--format"]),
        (["--format", "csv"], ["one entity", "--entities"]),
    ],
)
def test_stdout_refusals(capsys: Capsys, fleet: Fleet, args: list[str], words: list[str]) -> None:
    code, out, err = cli_export(capsys, fleet, *args, "-o", "-")
    line = one_line_error(code, err)
    assert all(word in line for word in words), line
    assert out == "" and fleet.requests() == 0


def test_python_api_to_a_stream(fleet: Fleet) -> None:
    tenants = list(load_tenants(fleet.config()).values())
    stream = io.BytesIO()
    report = export(tenants, output="-", format="jsonl", entities="devices", stream=stream)
    assert report.committed and report.format == "jsonl"
    rows = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(rows) == total(fleet, "devices") == report.written["devices"]


# ------------------------------------------------------------------ directories


def test_directory_export_replaces_the_whole_set(
    capsys: Capsys, fleet: Fleet, tmp_path: Path
) -> None:
    """Issue: files of an earlier run that this run did not write no longer stay beside the
    new ones (the same rule as SQLite's whole-file replace)."""
    output = tmp_path / "inventory"
    code, _, err = cli_export(
        capsys, fleet, "--format", "csv", "--entities", "all", "-o", str(output)
    )
    assert code == 0, err
    assert {"devices.csv", "tags.csv", "manifest.json"} <= {p.name for p in output.iterdir()}

    code, _, err = cli_export(capsys, fleet, "--entities", "devices", "-o", str(output))
    assert code == 0, err  # the format comes from the earlier export's manifest
    assert sorted(p.name for p in output.iterdir()) == ["devices.csv", "manifest.json"]
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["entities"] == ["devices"] and manifest["files"] == ["devices.csv"]
    assert manifest["written"] == {"devices": total(fleet, "devices")}
    assert not staging_leftovers(tmp_path)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_directory_mdmbridge_did_not_write_is_never_replaced(
    capsys: Capsys, fleet: Fleet, tmp_path: Path, fmt: str
) -> None:
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "thesis.docx").write_bytes(b"four years of work")
    before = snapshot(documents)
    line = one_line_error(*cli_export(capsys, fleet, "--format", fmt, "-o", str(documents))[::2])
    assert str(documents) in line and "'thesis.docx'" in line and "did not write" in line
    assert snapshot(documents) == before and fleet.requests() == 0
    assert not staging_leftovers(tmp_path)


def test_a_file_added_to_an_earlier_export_is_not_deleted(
    capsys: Capsys, fleet: Fleet, tmp_path: Path
) -> None:
    output = tmp_path / "inventory"
    assert cli_export(capsys, fleet, "--format", "csv", "-o", str(output))[0] == 0
    (output / "notes.txt").write_text("mine", encoding="utf-8")
    before = snapshot(output)
    for server in fleet.servers.values():
        server.reset_counts()
    code, _, err = cli_export(capsys, fleet, "--format", "csv", "-o", str(output))
    line = one_line_error(code, err)
    assert "'notes.txt'" in line and "move it out" in line
    assert snapshot(output) == before and fleet.requests() == 0


def test_a_file_put_there_during_the_export_is_not_deleted(fleet: Fleet, tmp_path: Path) -> None:
    """The check is made again just before the swap: the export may have run for an hour."""
    tenants = list(load_tenants(fleet.config()).values())
    output = tmp_path / "inventory"
    export(tenants, output=output, format="csv")
    before = snapshot(output)

    def progress(tenant: str, entity: str, count: int) -> None:
        (output / "late.txt").write_text("saved while the export ran", encoding="utf-8")

    with pytest.raises(ConfigError, match=r"'late\.txt'"):
        export(tenants, output=output, format="csv", progress=progress)
    assert snapshot(output) == {**before, "late.txt": b"saved while the export ran"}
    assert not staging_leftovers(tmp_path)


def test_an_empty_directory_is_used(fleet: Fleet, tmp_path: Path) -> None:
    output = tmp_path / "empty"
    output.mkdir()
    report = export(list(load_tenants(fleet.config()).values()), output=output, format="parquet")
    assert report.committed
    assert sorted(p.name for p in output.iterdir()) == sorted(
        [*(f"{e}.parquet" for e in ENTITIES), "manifest.json"]
    )


# ------------------------------------------------------------------ manifest and report


def test_sqlite_manifest_names_tenants_status_and_counts(
    capsys: Capsys, fleet: Fleet, tmp_path: Path
) -> None:
    import mdmbridge

    output = tmp_path / "inv.sqlite"
    config = fleet.config(**BAD_NORDIC)
    code, _, err = cli_export(capsys, fleet, "-o", str(output), config=config)
    assert code == 1, err
    manifest = sqlite_manifest(output)
    assert manifest["manifest"] == "mdmbridge-export" and manifest["format"] == "sqlite"
    assert manifest["mdmbridge_version"] == mdmbridge.__version__
    assert (
        manifest["started_at"].endswith("Z") and manifest["started_at"] <= manifest["finished_at"]
    )
    assert manifest["entities"] == list(ENTITIES) and manifest["committed"] is True
    tenants = {t["tenant"]: t for t in manifest["tenants"]}
    assert tenants["nordic-duo"]["status"] == "failed"
    assert tenants["nordic-duo"]["error_type"] == "AuthError" and tenants["nordic-duo"]["error"]
    ez_totals = tenants["acme-ez"].pop("vendor_totals")  # ezmdm's own counts, checked
    assert ez_totals["devices"] == fleet.expected("acme-ez", "devices")
    assert all(ez_totals[e] == fleet.expected("acme-ez", e) for e in ez_totals)
    assert tenants["acme-duo"]["vendor_totals"] is None  # DuoSTATION gives none
    assert tenants["acme-ez"] | {"seconds": 0} == {
        "tenant": "acme-ez",
        "vendor": "ezmdm",
        "status": "ok",
        "error": None,
        "error_type": None,
        "counts": {e: fleet.expected("acme-ez", e) for e in ENTITIES},
        "skipped": {},
        "seconds": 0,
    }
    ok = ["acme-duo", "acme-ez"]
    assert manifest["written"] == {e: total(fleet, e, ok) for e in ENTITIES}
    with contextlib.closing(sqlite3.connect(output)) as db:  # SQLite's JSON functions read it
        (failed,) = db.execute(
            "SELECT json_extract(t.value, '$.tenant') FROM _export, json_each(_export.value) t "
            "WHERE _export.key = 'tenants' AND json_extract(t.value, '$.status') = 'failed'"
        ).fetchone()
    assert failed == "nordic-duo"
    text = json.dumps(manifest)
    assert WRONG_PASSWORD not in text and DUO_PASSWORD not in text and EZ_KEY not in text


def test_jsonl_has_no_manifest_line_unless_asked(fleet: Fleet, tmp_path: Path) -> None:
    tenants = list(load_tenants(fleet.config()).values())
    plain, marked = tmp_path / "plain.jsonl", tmp_path / "marked.jsonl"
    export(tenants, output=plain, entities="groups")
    export(tenants, output=marked, entities="groups", manifest_line=True)
    first, *rest = marked.read_text(encoding="utf-8").splitlines()
    assert json.loads(first)["entity"] == "_export"
    assert json.loads(first)["written"] == {"groups": total(fleet, "groups")}
    assert rest == plain.read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line)["entity"] == "groups" for line in rest)


@pytest.mark.parametrize("name", ["inv.sqlite", "inv.json", "inventory"])
def test_manifest_line_is_for_jsonl_only(
    capsys: Capsys, fleet: Fleet, tmp_path: Path, name: str
) -> None:
    fmt = ["--format", "csv"] if "." not in name else []
    args = [*fmt, "--manifest-line", "-o", str(tmp_path / name)]
    line = one_line_error(*cli_export(capsys, fleet, *args)[::2])
    assert "--manifest-line" in line and "jsonl" in line and "--report" in line
    assert fleet.requests() == 0 and not (tmp_path / name).exists()


def test_report_file_for_cron_jobs(capsys: Capsys, fleet: Fleet, tmp_path: Path) -> None:
    report_file = tmp_path / "last-run.json"
    report_file.write_text("yesterday's report", encoding="utf-8")
    output = tmp_path / "inv.sqlite"
    config = fleet.config(**BAD_NORDIC)
    code, _, err = cli_export(
        capsys, fleet, "-o", str(output), "--report", str(report_file), config=config
    )
    assert code == 1, err
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["exit_code"] == 1 and report["output"] == str(output)
    assert report["committed"] is True
    assert {t["tenant"]: t["status"] for t in report["tenants"]}["nordic-duo"] == "failed"
    # The same document the output carries, plus where it went and how the run ended.
    carried = sqlite_manifest(output)
    assert {k: v for k, v in report.items() if k not in ("output", "exit_code")} == carried
    assert WRONG_PASSWORD not in report_file.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_report_when_every_tenant_fails(capsys: Capsys, fleet: Fleet, tmp_path: Path) -> None:
    bad = {name: {"password": "env:TEST_WRONG_PASSWORD"} for name in ("acme-duo", "nordic-duo")}
    bad["acme-ez"] = {"api_key": "WRONGKEY-0000000"}
    report_file, output = tmp_path / "run.json", tmp_path / "inv.jsonl"
    code, _, err = cli_export(
        capsys, fleet, "-o", str(output), "--report", str(report_file), config=fleet.config(**bad)
    )
    assert code == 3, err
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["committed"] is False and report["exit_code"] == 3 and report["written"] == {}
    assert {t["status"] for t in report["tenants"]} == {"failed"}
    assert not output.exists()


def test_report_in_a_missing_folder_is_refused_before_reading(
    capsys: Capsys, fleet: Fleet, tmp_path: Path
) -> None:
    report_file = tmp_path / "no" / "run.json"
    output = tmp_path / "inv.sqlite"
    args = ["-o", str(output), "--report", str(report_file)]
    line = one_line_error(*cli_export(capsys, fleet, *args)[::2])
    assert "--report" in line and "does not exist" in line
    assert fleet.requests() == 0 and not output.exists()


def test_python_api_result_carries_the_manifest(fleet: Fleet, tmp_path: Path) -> None:
    report = export(
        list(load_tenants(fleet.config()).values()), output=tmp_path / "x.db", entities="users"
    )
    assert report.manifest == sqlite_manifest(tmp_path / "x.db")
    assert report.manifest["tenants"][0]["counts"] == {"users": fleet.expected("acme-duo", "users")}


def test_python_api_refusals_are_config_errors(fleet: Fleet, tmp_path: Path) -> None:
    tenants = list(load_tenants(fleet.config()).values())
    with pytest.raises(ConfigError, match=r"unknown extension '\.txt'"):
        export(tenants, output=tmp_path / "x.txt")
    with pytest.raises(ConfigError, match="does not match"):
        export(tenants, output=tmp_path / "x.csv", format="json")
    assert fleet.requests() == 0


# ------------------------------------------------------------------ --where


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_where_filters_exported_rows(
    capsys: Capsys, fleet: Fleet, tmp_path: Path, fmt: str
) -> None:
    everything = read_output_of(capsys, fleet, tmp_path / "all", fmt, [])
    expected = [d for d in everything["devices"] if d["platform"] == "ios"]
    assert 0 < len(expected) < len(everything["devices"])  # the filter has work to do

    filtered = read_output_of(
        capsys, fleet, tmp_path / "ios", fmt, ["--where", "devices.platform=ios"]
    )
    assert sorted(d["id"] for d in filtered["devices"]) == sorted(d["id"] for d in expected)
    assert len(filtered["users"]) == len(everything["users"])  # only devices were filtered


def read_output_of(
    capsys: Capsys, fleet: Fleet, base: Path, fmt: str, args: list[str]
) -> dict[str, list[dict[str, Any]]]:
    output = base.with_suffix(".jsonl") if fmt == "jsonl" else base
    code, _, err = cli_export(capsys, fleet, "--format", fmt, *args, "-o", str(output))
    assert code == 0, err
    return read_output(output, fmt)
