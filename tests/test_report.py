"""``mdmbridge report``: a real sync database (two real ``mdmbridge sync`` runs against live
simulators, plus a tenant with a hostile name through the sync's Python API), rendered to
HTML and opened in a real headless Chromium (tests/chromium.py)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import mdmbridge
from mdmbridge.cli import main
from mdmbridge.config import CONFIG_ENV
from mdmbridge.export.schema import parse_entities
from mdmbridge.report import charts
from mdmbridge.report.query import NEVER, parse_time, read_report, stale_buckets
from mdmbridge.simulation import SimServer
from mdmbridge.sync.run import run_sync
from mdmbridge.sync.store import open_store
from mdmbridge.tenant import Tenant
from tests.chromium import chromium
from tests.postgres import PostgresServer, postgres  # noqa: F401  (the session fixture)
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

Factory = Callable[..., SimServer]
FAST = {"retries": 0, "connect_timeout_s": 2.0, "read_timeout_s": 5.0}
HOSTILE_TENANT = "<script>window.__pwned='tenant'</script>&amp;\"quoted\""
HOSTILE_DEVICE = "<img src=x onerror=\"window.__pwned='device'\"><b>Mallory's</b>"
ARTIFACTS = Path(
    os.environ.get("MDMBRIDGE_TEST_ARTIFACTS") or Path(__file__).parent.parent / ".pytest-artifacts"
)


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@dataclass
class Built:
    db: str
    duo: SimServer
    ez: SimServer
    renamed_id: str
    removed_id: str


def _config(tmp: Path, duo: SimServer, ez: SimServer) -> Path:
    path = tmp / "tenants.toml"
    extra = [f"{k} = {v}" for k, v in FAST.items()]
    path.write_text(
        "\n".join(
            [
                '[tenants."acme-duo"]',
                'vendor = "duostation"',
                f'base_url = "{duo.base_url}"',
                f'username = "{DUO_USER}"',
                'password = "env:TEST_DUO_PASSWORD"',
                *extra,
                '[tenants."acme-ez"]',
                'vendor = "ezmdm"',
                f'base_url = "{ez.base_url}"',
                'api_key = "env:TEST_EZ_KEY"',
                "page_size = 25",
                *extra,
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def build(
    capsys: pytest.CaptureFixture[str],
    tmp: Path,
    duo_sim: Factory,
    ez_sim: Factory,
    db: str,
) -> Built:
    """Two real syncs with changes between them: acme-duo loses a device and gains a user;
    in acme-ez the device that checked in longest ago is renamed to a hostile name.
    A third tenant whose name is hostile is synced through the Python API (the tenants file
    refuses such a name; a database need not have been written through it)."""
    duo, ez = duo_sim(devices=30, seed=31), ez_sim(devices=40, seed=33)
    config = _config(tmp, duo, ez)
    code, _, err = run(capsys, "--config", str(config), "sync", "--db", db)
    assert code == 0, err
    with mdmbridge.connect(
        "duostation",
        tenant="acme-duo",
        base_url=duo.base_url,
        username=DUO_USER,
        password=DUO_PASSWORD,
    ) as client:
        removed = list(client.devices.list())[-1]
        client.users.create(name="Nia Newcomer", email="nia.newcomer@example.com")
    with duo.app.lock:
        duo.app.devices.pop(next(k for k in duo.app.devices if str(k) == removed.id))
    with mdmbridge.connect("ezmdm", tenant="acme-ez", base_url=ez.base_url, api_key=EZ_KEY) as c:
        never = datetime.max.replace(tzinfo=UTC)
        oldest = min(c.devices.list(), key=lambda d: d.last_seen or never)
        c.devices.rename(oldest.id, HOSTILE_DEVICE)
    code, _, err = run(capsys, "--config", str(config), "sync", "--db", db)
    assert code == 0, err

    other = duo_sim(devices=12, seed=35)
    hostile = Tenant(
        HOSTILE_TENANT,
        "duostation",
        table={
            "base_url": other.base_url,
            "username": DUO_USER,
            "password": DUO_PASSWORD,
            **FAST,
        },
    )
    store = open_store(db)
    try:
        report = run_sync(store, [hostile], entities=parse_entities(None))
    finally:
        store.close()
    assert report.outcome == "ok"
    return Built(db, duo, ez, oldest.id, removed.id)


def _fleet_devices(server: SimServer, vendor: str) -> list[mdmbridge.Device]:
    if vendor == "duostation":
        client = mdmbridge.connect(
            vendor, base_url=server.base_url, username=DUO_USER, password=DUO_PASSWORD
        )
    else:
        client = mdmbridge.connect(vendor, base_url=server.base_url, api_key=EZ_KEY)
    with client:
        return list(client.devices.list())


# The browser reads the page back: every chart and how many of its data shapes have an area,
# the visible text, and whether anything hostile ran or was parsed as markup.
_INSPECT = """JSON.stringify({
  charts: [...document.querySelectorAll('svg.chart')].map(svg => ({
    label: svg.getAttribute('aria-label'),
    marks: svg.querySelectorAll('.mark').length,
    drawn: [...svg.querySelectorAll('.mark')].filter(m => {
      const box = m.getBBox(); return box.width > 0 && box.height > 0; }).length,
    shown: svg.getBoundingClientRect().width > 0 && svg.getBoundingClientRect().height > 0,
  })),
  sections: [...document.querySelectorAll('section.tenant')].map(s => ({
    name: s.querySelector('h2').textContent,
    charts: s.querySelectorAll('svg.chart').length,
  })),
  text: document.body.innerText,
  scripts: document.scripts.length,
  images: document.images.length,
  bold: document.querySelectorAll('b').length,
  pwned: window.__pwned === undefined ? null : String(window.__pwned),
})"""


def test_report_draws_every_chart_in_chromium(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, duo_sim: Factory, ez_sim: Factory
) -> None:
    built = build(capsys, tmp_path, duo_sim, ez_sim, str(tmp_path / "inventory.db"))
    out = tmp_path / "report.html"
    code, _, err = run(capsys, "report", "--db", built.db, "-o", str(out))
    assert code == 0, err

    with chromium(tmp_path / "profile") as browser:
        browser.load(out.as_uri())
        page = json.loads(browser.evaluate(_INSPECT))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        png = browser.screenshot(ARTIFACTS / "fleet-report.png")
        errors = browser.console_errors()

    assert errors == []
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    sections = {s["name"]: s["charts"] for s in page["sections"]}
    assert sections == {"acme-duo": 6, "acme-ez": 6, HOSTILE_TENANT: 6}
    assert len(page["charts"]) == 4 + 3 * 6  # the fleet summary's four, six per tenant
    undrawn = [c["label"] for c in page["charts"] if not (c["shown"] and c["drawn"] > 0)]
    assert undrawn == []
    # Hostile names are text: shown verbatim, never parsed as markup, never run.
    assert page["pwned"] is None and page["scripts"] == 0
    assert page["images"] == 0 and page["bold"] == 0
    assert HOSTILE_TENANT in page["text"] and HOSTILE_DEVICE in page["text"]
    assert "<script>" not in out.read_text(encoding="utf-8").split("</style>", 1)[1]
    assert "before the start of the latest run" in page["text"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_figures_are_the_database_s(
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    duo_sim: Factory,
    ez_sim: Factory,
    kind: str,
) -> None:
    if kind == "sqlite":
        db = str(tmp_path / "inventory.db")
    else:
        pg: PostgresServer = request.getfixturevalue("postgres")
        # trust authentication ignores the password: it is here to prove it never shows
        user, rest = pg.new_database().split("://", 1)[1].split("@", 1)
        db = f"postgresql://{user}:Pw-Canary-12@{rest}"
    built = build(capsys, tmp_path, duo_sim, ez_sim, db)
    store = open_store(db)
    try:
        report = read_report(store)
    finally:
        store.close()
    assert report.latest is not None and report.latest.id == 3 and report.reference is not None
    by_name = {t.name: t for t in report.tenants}
    assert set(by_name) == {"acme-duo", "acme-ez", HOSTILE_TENANT}

    for name, server, vendor in (
        ("acme-duo", built.duo, "duostation"),
        ("acme-ez", built.ez, "ezmdm"),
    ):
        live = _fleet_devices(server, vendor)
        t = by_name[name]
        assert t.vendor == vendor
        assert t.devices == len(live)  # the removed device is not counted
        assert t.unassigned == sum(d.user_id is None for d in live)
        assert t.platforms == Counter(d.platform.value for d in live)
        assert sum(t.os_versions.values()) == len(live)
        for days in (7, 30, 90):
            cutoff = report.reference - timedelta(days=days)
            expected = sum(1 for d in live if d.last_seen is not None and d.last_seen <= cutoff)
            assert t.stale[f"{days} days"] == expected
        assert t.stale[NEVER] == sum(d.last_seen is None for d in live)
        assert [(r.run_id, r.status) for r in t.runs] == [(1, "ok"), (2, "ok")]
        assert t.runs[0].changes["added"] > len(live)  # devices, users and groups

    assert by_name["acme-duo"].runs[1].changes == {"removed": 1, "added": 1}  # device; user
    ez = by_name["acme-ez"]
    assert ez.runs[1].changes == {"changed": 1}  # the renamed device, counted once
    assert ez.longest_unseen[0].name == HOSTILE_DEVICE  # it checked in longest ago
    assert [(r.run_id, r.status) for r in by_name[HOSTILE_TENANT].runs] == [(3, "ok")]

    code, out, err = run(capsys, "report", "--db", db, "-o", "-")
    assert code == 0, err
    assert out.startswith("<!doctype html>") and out.rstrip().endswith("</html>")
    assert "Pw-Canary-12" not in out + err


def test_empty_database_and_no_runs_give_a_page_saying_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    migrated = tmp_path / "no-runs.db"
    store = open_store(str(migrated))
    store.migrate()  # the schema, as a sync creates it, but no run
    store.close()
    for db in (empty, migrated):
        out = tmp_path / f"{db.stem}.html"
        code, _, err = run(capsys, "report", "--db", str(db), "-o", str(out))
        assert code == 0, err
        page = out.read_text(encoding="utf-8")
        assert "No sync has run in this database yet" in page
        assert "<svg" not in page


def test_missing_database_file_is_one_line_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "typo.db"
    code, out, err = run(capsys, "report", "--db", str(db), "-o", str(tmp_path / "r.html"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "no such file" in err, err
    assert not db.exists() and not (tmp_path / "r.html").exists()


def test_damaged_database_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    not_db = tmp_path / "notes.db"
    not_db.write_text("not a database", encoding="utf-8")
    damaged = tmp_path / "damaged.db"
    store = open_store(str(damaged))
    store.migrate()
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO sync_runs (started, mdmbridge_version, tenants, entities, outcome) "
            "VALUES ('2026-01-01T00:00:00Z', 'x', '[]', '[]', 'ok')"
        )
        conn.exec_driver_sql("DROP TABLE changes")
    store.close()
    for db, words in ((not_db, "file is not a database"), (damaged, "no such table: changes")):
        out = tmp_path / "r.html"
        code, _, err = run(capsys, "report", "--db", str(db), "-o", str(out))
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
        assert not out.exists()


def test_output_is_replaced_whole_and_bad_outputs_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "inv.db"
    store = open_store(str(db))
    store.migrate()
    store.close()
    out = tmp_path / "report.html"
    out.write_text("yesterday's report", encoding="utf-8")
    code, _, err = run(capsys, "report", "--db", str(db), "-o", str(out))
    assert code == 0, err
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    for bad, words in (
        (tmp_path / "no" / "such" / "r.html", "does not exist"),
        (tmp_path, "a folder"),
    ):
        code, _, err = run(capsys, "report", "--db", str(db), "-o", str(bad))
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
        assert "Traceback" not in err

    out.write_text("kept", encoding="utf-8")
    code, _, err = run(capsys, "report", "--db", str(tmp_path / "gone.db"), "-o", str(out))
    assert code == 2 and out.read_text(encoding="utf-8") == "kept"  # nothing half-written


def test_stale_buckets_are_cumulative_and_measured_from_the_reference() -> None:
    reference = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    seen = [
        "2026-11-13T12:00:00Z",  # exactly 7 days
        "2026-11-13T12:00:01Z",  # a second short of 7 days
        "2026-10-21T12:00:00.500Z",  # 30 days less half a second
        "2026-08-01T00:00:00+00:00",  # over 90 days, with an offset
        None,
        "not a time",
    ]
    found = stale_buckets(seen, reference)
    assert found == {"7 days": 3, "30 days": 1, "90 days": 1, NEVER: 2}
    assert parse_time("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)


def test_charts_escape_every_label() -> None:
    svg = charts.bars("x", [(HOSTILE_TENANT, 3), ("zero", 0)])
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.count('class="mark"') == 1  # the zero row draws no bar
    runs: list[tuple[str, str, dict[str, Any]]] = [("run 1", HOSTILE_DEVICE, {"added": 2})]
    assert "<img" not in charts.columns("y", runs)
    assert "<b>" not in charts.strip("z", [(HOSTILE_DEVICE, "<b>")])
