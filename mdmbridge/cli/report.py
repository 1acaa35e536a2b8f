"""``mdmbridge report``: the fleet report of a sync database, thin over mdmbridge/report/."""

from __future__ import annotations

from pathlib import Path

import click

from mdmbridge.cli.exits import EXIT_OK
from mdmbridge.cli.state import State


@click.command("report")
@click.option(
    "--db",
    "db",
    required=True,
    metavar="URL",
    help="the sync database: a file path, sqlite:///path or postgresql://user@host:port/db",
)
@click.option(
    "--output",
    "-o",
    "output",
    required=True,
    metavar="FILE",
    help="the HTML file to write (replaced whole), or - for standard output",
)
@click.pass_obj
def report_command(state: State, db: str, output: str) -> int:
    """One self-contained HTML page: devices by platform and OS version, devices not seen
    for 7/30/90 days, unassigned devices, changes per run and each tenant's last sync."""
    from mdmbridge.report import make_report, save_report

    page = make_report(db)
    if output == "-":
        click.echo(page, nl=False)
    else:
        save_report(page, Path(output))
        state.err.print(f"report written to {output}", markup=False, highlight=False)
    return EXIT_OK
