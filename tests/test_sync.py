"""``mdmbridge sync``, ``changes`` and ``runs`` against live simulators, the same suite on a
SQLite file and on a real PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mdmbridge.config import CONFIG_ENV
from mdmbridge.sync import schema as s
from mdmbridge.sync.store import open_store
from tests.postgres import PostgresServer, postgres  # noqa: F401  (the session fixture)
from tests.support import DUO_PASSWORD, EZ_KEY
from tests.sync_fleet import Factory, Fleet, changes_json, mutate, run, state_of, sync

pytest_plugins = ["tests.sync_fleet"]  # the fleet fixture


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Factory of empty databases of one kind: a SQLite file, or a PostgreSQL database."""
    made = 0

    def make() -> str:
        nonlocal made
        made += 1
        if request.param == "sqlite":
            return str(tmp_path / f"inventory{made}.db")
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.new_database()

    return make


def test_two_runs_record_exactly_what_changed(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, new_db: Callable[[], str]
) -> None:
    db = new_db()
    code, _, err = sync(capsys, fleet, db)
    assert code == 0, err
    first = changes_json(capsys, db)
    assert {c["kind"] for c in first} == {"added"} and all(c["field"] is None for c in first)
    assert len(first) == sum(len(v) for v in state_of(db)["tables"].values())

    what = mutate(fleet)
    code, _, err = sync(capsys, fleet, db)
    assert code == 1, err  # one tenant failed, the others synced
    assert "FAILED nordic-duo" in err and "503" in err

    second = changes_json(capsys, db, "--run", "2")
    summary = {(c["tenant"], c["entity"], c["record_id"], c["kind"], c["field"]) for c in second}
    assert {(t, e, r, k, f) for t, e, r, k, f in summary if f != "raw"} == {
        ("acme-duo", "users", what["added"].id, "added", None),
        ("acme-duo", "devices", what["gone"].id, "removed", None),
    } | {("acme-duo", "devices", what["moved"].id, "changed", f) for f in what["moved_fields"]}
    moved = next(c for c in second if c["field"] == "user_id")
    assert (moved["old"], moved["new"]) == (what["moved"].user_id, what["new_owner"].id)
    assert not [c for c in second if c["tenant"] != "acme-duo"]  # failed tenant: nothing

    store = open_store(db)
    with store.engine.connect() as conn:
        t = s.entity_tables["devices"]
        device_id, owner = what["reassigned"]
        held_owner = conn.execute(select(t.c.user_id).where(t.c.id == device_id)).scalar()
        assert held_owner != owner  # the failed tenant's change is not applied
        removed = conn.execute(
            select(t.c.sync_removed_run, t.c.sync_removed_at).where(t.c.id == what["gone"].id)
        ).one()
        assert removed[0] == 2 and removed[1].endswith("Z")
        status = dict(
            conn.execute(
                select(s.sync_tenants.c.tenant, s.sync_tenants.c.status).where(
                    s.sync_tenants.c.run_id == 2
                )
            ).all()
        )
        outcome = conn.execute(select(s.sync_runs.c.outcome).order_by(s.sync_runs.c.id)).all()
    store.close()
    assert status == {"acme-duo": "ok", "nordic-duo": "failed", "acme-ez": "ok"}
    assert [o[0] for o in outcome] == ["ok", "partial"]

    # The device comes back: restored, not added again.
    app = fleet.servers["acme-duo"].app
    with app.lock:
        app.devices[what["held"]["Id"]] = what["held"]
    fleet.servers["nordic-duo"].faults.clear()
    code, _, err = sync(capsys, fleet, db)
    assert code == 0, err
    third = changes_json(capsys, db, "--run", "3", "-t", "acme-*")
    assert {(c["record_id"], c["kind"]) for c in third} == {(what["gone"].id, "restored")}
    nordic = changes_json(capsys, db, "--run", "3", "-t", "nordic-duo", "--entity", "devices")
    assert {(c["record_id"], c["new"]) for c in nordic if c["field"] == "user_id"} == {
        what["reassigned"]
    }

    code, out, err = run(capsys, "runs", "--db", db, "--format", "json")
    assert code == 0, err
    listed = json.loads(out)
    assert [r["run_id"] for r in listed][:3] == [3, 3, 3]
    assert {(r["run_id"], r["tenant"], r["status"]) for r in listed if r["run_id"] == 2} == {
        (2, "acme-duo", "ok"),
        (2, "nordic-duo", "failed"),
        (2, "acme-ez", "ok"),
    }


def test_unchanged_second_run_writes_no_entity_rows(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, new_db: Callable[[], str]
) -> None:
    db = new_db()
    assert sync(capsys, fleet, db)[0] == 0
    before = state_of(db)
    code, _, err = sync(capsys, fleet, db)
    assert code == 0, err
    assert "0 rows written, 0 changes" in err
    store = open_store(db)
    with store.engine.connect() as conn:
        t = s.entity_tables["devices"]
        assert set(conn.execute(select(t.c.sync_last_run)).scalars()) == {1}
    store.close()
    assert state_of(db) == before


def test_vendor_totals_prove_the_listing_whole_where_the_vendor_gives_one(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, new_db: Callable[[], str]
) -> None:
    """ezmdm reports a total with every page (the pager checks it): it is kept per entity,
    equal to the rows read. DuoSTATION gives none: NULL, never a made-up figure."""
    db = new_db()
    assert sync(capsys, fleet, db)[0] == 0
    store = open_store(db)
    with store.engine.connect() as conn:
        t = s.sync_tenants
        found = {
            row.tenant: (row.vendor_totals, json.loads(row.counts))
            for row in conn.execute(select(t.c.tenant, t.c.vendor_totals, t.c.counts))
        }
    store.close()
    totals, counts = found["acme-ez"]
    assert totals is not None
    assert json.loads(totals)["devices"] == counts["devices"] == 40
    assert json.loads(totals)["groups"] == counts["groups"]
    assert found["acme-duo"][0] is None and found["nordic-duo"][0] is None


def test_where_limits_what_changes_shows(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, new_db: Callable[[], str]
) -> None:
    db = new_db()
    assert sync(capsys, fleet, db)[0] == 0
    found = changes_json(capsys, db, "--entity", "devices", "--where", "vendor=ezmdm")
    assert found and {c["tenant"] for c in found} == {"acme-ez"}


def _sync_process(config: Path, db: str) -> subprocess.Popen[bytes]:
    code = "import sys; from mdmbridge.cli import main; sys.exit(main())"
    env = {**os.environ, "MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code, "--config", str(config), "sync", "--db", db],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(db: str, process: subprocess.Popen[bytes], *, tenants: int) -> None:
    """Until the sync in ``process`` has a running run with ``tenants`` tenants applied."""
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(f"sync ended early: {process.stderr and process.stderr.read()!r}")
        store = open_store(db)
        try:
            if store.has_schema():
                with store.engine.connect() as conn:
                    running = conn.execute(
                        select(s.sync_runs.c.id).where(s.sync_runs.c.outcome == "running")
                    ).scalar()
                    done = conn.execute(
                        select(s.sync_tenants.c.tenant).where(s.sync_tenants.c.run_id == running)
                    ).all()
                if running is not None and len(done) >= tenants:
                    return
        finally:
            store.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(0.05)
    raise AssertionError("the sync did not get there")


def test_sigkill_mid_run_then_rerun_equals_an_uninterrupted_run(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, new_db: Callable[[], str]
) -> None:
    killed, reference = new_db(), new_db()
    for db in (killed, reference):
        assert sync(capsys, fleet, db)[0] == 0
    mutate(fleet)
    fleet.servers["nordic-duo"].faults.clear()
    # acme-ez is slow to list (pages of 25), so the kill lands after another tenant committed.
    fleet.servers["acme-ez"].faults.add("delay", delay_s=0.4, times=None)
    process = _sync_process(fleet.config(), killed)
    try:
        _wait_for(killed, process, tenants=1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    fleet.servers["acme-ez"].faults.clear()
    assert sync(capsys, fleet, killed)[0] == 0
    assert sync(capsys, fleet, reference)[0] == 0
    assert state_of(killed) == state_of(reference)
    store = open_store(killed)
    with store.engine.connect() as conn:
        outcomes = conn.execute(select(s.sync_runs.c.outcome).order_by(s.sync_runs.c.id)).all()
    store.close()
    assert [o[0] for o in outcomes] == ["ok", "interrupted", "ok"]


def test_two_syncs_at_once_one_is_refused(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, new_db: Callable[[], str]
) -> None:
    db = new_db()
    fleet.servers["acme-ez"].faults.add("delay", delay_s=0.4, times=None)
    process = _sync_process(fleet.config(), db)
    try:
        _wait_for(db, process, tenants=0)
        code, _, err = sync(capsys, fleet, db)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1, err
    assert "another mdmbridge sync is running (run 1, started" in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://u@localhost/db", "unsupported database 'mysql'"),
        ("sqlite://", "give a file"),
        ("/no/such/folder/x.db", "does not exist"),
        ("postgresql://nobody:Pw-Canary-77@127.0.0.1:1/none", "cannot connect"),
        ("postgresql://[::1", "not a database URL"),
    ],
)
def test_bad_db_url_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, url: str, words: str
) -> None:
    code, out, err = sync(capsys, fleet, url)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert "Pw-Canary-77" not in out + err


def test_changes_on_a_database_without_sync(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "changes", "--db", str(tmp_path / "empty.db"))
    assert code == 2 and "no sync has run here yet" in err


def test_synced_rows_equal_an_export_of_the_same_tenants(
    capsys: pytest.CaptureFixture[str], fleet: Fleet, new_db: Callable[[], str], duo_sim: Factory
) -> None:
    """The bulk paths hand rows to the driver as they are, many rows per statement: every
    value (booleans, numbers, times, JSON text, NULLs) must land as the export's SQLite
    file holds it. A bigger tenant makes whole statements and a remainder (250 devices)."""
    fleet.servers["big-duo"], fleet.vendors["big-duo"] = duo_sim(devices=250, seed=34), "duostation"
    db, config = new_db(), str(fleet.config())
    every = ("--entities", "all")  # apps hold booleans and big integers, locations reals
    code, _, err = run(capsys, "--config", config, "sync", "--db", db, *every)
    assert code == 0, err
    exported = fleet.tmp / "export.sqlite"
    code, _, err = run(
        capsys, "--config", config, "export", "--format", "sqlite", "-o", str(exported), *every
    )
    assert code == 0, err

    def text(value: Any) -> Any:  # SQLite holds booleans as 0/1, PostgreSQL as booleans
        return int(value) if isinstance(value, bool) else value

    store = open_store(db)
    try:
        with store.engine.connect() as conn, contextlib.closing(sqlite3.connect(exported)) as ex:
            held = {n for (n,) in ex.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            assert {"apps", "locations"} <= held
            for name in sorted(held & set(s.entity_tables)):
                columns = s.data_columns(name)
                t = s.entity_tables[name]
                synced = sorted(
                    tuple(text(v) for v in row)
                    for row in conn.execute(select(*(t.c[c] for c in columns)))
                )
                listed = ", ".join(f'"{c}"' for c in columns)
                plain = sorted(ex.execute(f"SELECT {listed} FROM {name}").fetchall())
                assert synced == plain, name
                assert plain or name not in ("devices", "apps", "locations"), name
    finally:
        store.close()
