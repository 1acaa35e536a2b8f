"""demo: the main job on built-in simulators, with no network and no configuration.

Export, then the nightly job: a sync, a day of ordinary admin writes (audited), a second
sync, and what it found changed. Everything lands in the output folder, audit log included:
the demo never writes to the user's own audit log or databases. Its files are replaced on
each demo run (the simulators start afresh, so an older history would show them undone).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import click
from rich.text import Text

import mdmbridge
from mdmbridge import audit
from mdmbridge.cli.demo_changes import make_changes
from mdmbridge.cli.exits import exit_for
from mdmbridge.cli.export import _progress, print_export_report
from mdmbridge.cli.output import emit
from mdmbridge.cli.state import State
from mdmbridge.cli.sync import report_line
from mdmbridge.config import Tenant, parse_tenant
from mdmbridge.export import export
from mdmbridge.export.schema import parse_entities
from mdmbridge.sync.query import ChangeQuery, changes, record_names
from mdmbridge.sync.run import SyncReport, run_sync
from mdmbridge.sync.store import Store, open_store

DEMO_FLEET = (
    ("acme-duo", "duostation", 1500, 11),
    ("nordic-duo", "duostation", 900, 12),
    ("acme-ez", "ezmdm", 1100, 13),
    ("acme-m365", "intune", 800, 14),
)
ENTITIES = "devices,users,groups,tags,device_tags"
HISTORY = "inventory-history.sqlite"  # the sync database, beside the export
AUDIT_LOG = "audit.jsonl"  # the demo's writes, never the user's own log
CHANGE_COLUMNS = ["tenant", "entity", "record", "kind", "field", "change"]
_POINTS_AT = {"user_id": "users", "group_id": "groups"}  # a field -> the entity it names


@click.command("demo")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("mdmbridge-demo"),
    show_default=True,
    help="folder for the inventory",
)
@click.option(
    "--scale",
    type=click.FloatRange(0.01, 100),
    default=1.0,
    show_default=True,
    help="multiply the demo fleets' sizes",
)
@click.pass_obj
def demo_command(state: State, output: Path, scale: float) -> int:
    """The main job on built-in simulators: no network, no configuration."""
    output.mkdir(parents=True, exist_ok=True)
    found = mdmbridge.adapters()
    sims = []
    try:
        tenants = []
        for name, vendor, devices, seed in DEMO_FLEET:
            sim = found[vendor].adapter_class.start_simulator(
                devices=max(1, int(devices * scale)), seed=seed
            )
            sims.append(sim)
            tenants.append(parse_tenant(name, {"vendor": vendor, **sim.settings}, source="demo"))
            state.err.print(Text(f"started {vendor} simulator for tenant {name} at {sim.base_url}"))
        sqlite_path = output / "inventory.sqlite"
        with _progress(state) as progress:
            report = export(
                tenants, output=sqlite_path, format="sqlite", entities=ENTITIES, progress=progress
            )
            csv_report = export(tenants, output=output / "csv", format="csv", entities=ENTITIES)
        print_export_report(report)
        failures = [t.error for t in (*report.failed, *csv_report.failed) if t.error is not None]
        runs = _sync_twice(state, tenants, output)
        failures += [t.error for r in runs for t in r.failed if t.error is not None]
    finally:
        for sim in sims:
            sim.stop()
    if report.committed:
        _demo_summary(state, sqlite_path, output / "csv")
    _show_changes(state, output / HISTORY, runs[-1])
    return exit_for(failures, succeeded=len(DEMO_FLEET) * 4 - len(failures))


def _sync_twice(state: State, tenants: list[Tenant], output: Path) -> list[SyncReport]:
    """Sync, make the day's writes through the simulators' APIs, sync again."""
    database, log_path = output / HISTORY, output / AUDIT_LOG
    for old in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        old.unlink(missing_ok=True)
    log_path.unlink(missing_ok=True)
    specs = parse_entities(ENTITIES)
    store = open_store(str(database))
    try:
        first = run_sync(store, tenants, entities=specs)
        state.err.print(Text(f"sync into {database}: {report_line(first)}"))
        with audit.activated(log_path) as log:
            writes = make_changes(tenants, log)
        state.err.print(
            Text(f"made {writes} writes through the vendors' APIs (audited to {log_path})")
        )
        second = run_sync(store, tenants, entities=specs)
        state.err.print(Text(f"sync again: {report_line(second)}"))
    finally:
        store.close()
    return [first, second]


def _show_changes(state: State, database: Path, run: SyncReport) -> None:
    """What the second sync found, then how to explore the history."""
    store = open_store(str(database))
    try:
        rows = change_rows(store, run.run_id)
    finally:
        store.close()
    emit(
        state.out,
        CHANGE_COLUMNS,
        rows,
        "table",
        title=f"what sync run {run.run_id} found changed: {len(rows)} changes",
        chosen=True,  # every column stays; long names and changes are cut to fit
        keep=("kind",),
        page=False,
    )
    state.out.print(
        Text(
            "Explore the history:\n"
            f"  mdmbridge changes --db {database}\n"
            f"  mdmbridge runs --db {database}"
        )
    )


def change_rows(store: Store, run_id: int) -> list[dict[str, str | None]]:
    """One run's changes for people: every one but the vendor's raw payload (which changes
    with any field), tenants in the fleet's order, records and the users and groups they
    point at by name rather than id."""
    order = {name: n for n, (name, *_) in enumerate(DEMO_FLEET)}
    found = [c for c in changes(store, ChangeQuery(run=run_id)) if c["field"] != "raw"]
    found.reverse()  # oldest first: the order each tenant's changes were recorded in
    found.sort(key=lambda c: order.get(c["tenant"], len(order)))
    keys = {(c["tenant"], c["entity"], c["record_id"]) for c in found}
    for c in found:
        if c["field"] in _POINTS_AT:
            keys |= {(c["tenant"], _POINTS_AT[c["field"]], v) for v in (c["old"], c["new"]) if v}
    names = record_names(store, keys)

    def named(tenant: str, entity: str, value: str | None) -> str:
        return "∅" if value is None else names.get((tenant, entity, value), value)

    # Names are not unique (two "Team Söder" groups, a user's two iPhones): where one is
    # shown for two ids, the id follows it.
    shown: dict[tuple[str, str, str], set[str]] = {}
    for tenant, entity, record_id in keys:
        shown.setdefault((tenant, entity, named(tenant, entity, record_id)), set()).add(record_id)

    def label(tenant: str, entity: str | None, value: str | None) -> str:
        if entity is None or value is None:
            return value or "∅"
        name = named(tenant, entity, value)
        clash = name != value and len(shown[(tenant, entity, name)]) > 1
        return f"{name} ({value[:8]})" if clash else name

    rows: list[dict[str, str | None]] = []
    for c in found:
        tenant, field = c["tenant"], c["field"]
        change = None
        if field is not None:
            to = _POINTS_AT.get(field)
            change = f"{label(tenant, to, c['old'])} → {label(tenant, to, c['new'])}"
        rows.append(
            {
                "tenant": tenant,
                "entity": c["entity"],
                "record": label(tenant, c["entity"], c["record_id"]),
                "kind": c["kind"],
                "field": field,
                "change": change,
            }
        )
    return rows


def _demo_summary(state: State, database: Path, csv_dir: Path) -> None:
    query = (
        "SELECT tenant, vendor, platform, COUNT(*) AS devices FROM devices "
        "GROUP BY 1, 2, 3 ORDER BY 1, 3"
    )
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = [
            dict(zip(("tenant", "vendor", "platform", "devices"), r, strict=True))
            for r in db.execute(query)
        ]
        total = db.execute("SELECT COUNT(*) FROM devices").fetchone()[0]
    emit(
        state.out,
        ["tenant", "vendor", "platform", "devices"],
        rows,
        "table",
        title=f"unified inventory: {total} devices",
    )
    state.out.print(
        Text(
            "Query it:\n"
            f'  sqlite3 {database} "{query}"\n'
            f"  python -c \"import sqlite3; print(sqlite3.connect('{database}').execute("
            "'SELECT vendor, COUNT(*) FROM devices GROUP BY vendor').fetchall())\"\n"
            f"Open {csv_dir}/devices.csv in a spreadsheet (UTF-8, å/ä/ö intact)."
        )
    )
