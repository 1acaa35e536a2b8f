"""demo: the main job on built-in simulators, with no network and no configuration."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import click
from rich.text import Text

import mdmbridge
from mdmbridge.cli.exits import exit_for
from mdmbridge.cli.export import _print_report, _progress
from mdmbridge.cli.output import emit
from mdmbridge.cli.state import State
from mdmbridge.config import parse_tenant
from mdmbridge.export import export

DEMO_FLEET = (
    ("acme-duo", "duostation", 1500, 11),
    ("nordic-duo", "duostation", 900, 12),
    ("acme-ez", "ezmdm", 1100, 13),
    ("acme-m365", "intune", 800, 14),
)


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
        entities = "devices,users,groups,tags,device_tags"
        sqlite_path = output / "inventory.sqlite"
        with _progress(state) as progress:
            report = export(
                tenants, output=sqlite_path, format="sqlite", entities=entities, progress=progress
            )
            csv_report = export(tenants, output=output / "csv", format="csv", entities=entities)
        _print_report(state, report)
        failures = [t.error for t in (*report.failed, *csv_report.failed) if t.error is not None]
    finally:
        for sim in sims:
            sim.stop()
    if report.committed:
        _demo_summary(state, sqlite_path, output / "csv")
    return exit_for(failures, succeeded=len(DEMO_FLEET) * 2 - len(failures))


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
