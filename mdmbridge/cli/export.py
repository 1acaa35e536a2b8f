"""export: every selected tenant's entities into one output; its progress and summary."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from mdmbridge.cli.exits import exit_for
from mdmbridge.cli.options import tenant_option
from mdmbridge.cli.state import State
from mdmbridge.config import select_tenants
from mdmbridge.errors import ConfigError
from mdmbridge.export import ENTITIES, FORMATS, ExportReport, export


@click.command("export")
@tenant_option()
@click.option(
    "--entities",
    default=None,
    help=f"comma-separated: {', '.join(ENTITIES)}, or all [default: devices,users,groups]",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="EXPR",
    help="export only the records this holds for (repeatable; all must hold), e.g. "
    "'os_version<17.4', 'last_seen<30d'; 'devices.platform=ios' applies to devices only "
    "(see docs/working-across-tenants.md)",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="sqlite", show_default=True)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="a file (sqlite, jsonl, json) or a directory (csv, parquet)",
)
@click.option(
    "--workers", type=click.IntRange(1, 256), default=4, show_default=True, help="tenants at once"
)
@click.option(
    "--processes",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="read tenants in this many worker processes (0: threads); helps large, many-tenant "
    "exports on multi-core machines, costs ~0.3 s start-up each",
)
@click.pass_obj
def export_command(
    state: State,
    names: tuple[str, ...],
    entities: str | None,
    where: tuple[str, ...],
    fmt: str,
    output: Path,
    workers: int,
    processes: int,
) -> int:
    """Every selected tenant's entities into one unified output."""
    tenants = select_tenants(state.tenants(), names)
    try:
        with _progress(state) as progress:
            report = export(
                tenants,
                output=output,
                format=fmt,
                entities=entities,
                workers=workers,
                processes=processes,
                progress=progress,
                where=list(where) or None,
            )
    except (OSError, sqlite3.Error) as exc:
        # The output could not be written (a full disk, a file grown too large): the
        # staging output is gone and the previous output is as it was. Say so, in one line.
        raise ConfigError(
            f"--output {output}: the export could not be written ({_os_reason(exc)}); "
            f"{output} was left as it was"
        ) from None
    _print_report(state, report)
    errors = [t.error for t in report.failed if t.error is not None]
    return exit_for(errors, succeeded=len(report.tenants) - len(errors))


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return " ".join((str(exc) or type(exc).__name__).split())


@contextlib.contextmanager
def _progress(state: State) -> Iterator[Any]:
    """A rich progress bar per tenant and entity on a terminal; nothing otherwise."""
    if not state.interactive:
        yield None
        return
    lock = threading.Lock()
    tasks: dict[tuple[str, str], Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
        console=state.err,
        transient=True,
    ) as bar:

        def update(tenant: str, entity: str, count: int) -> None:
            with lock:
                key = (tenant, entity)
                if key not in tasks:
                    tasks[key] = bar.add_task(f"{tenant} {entity}", total=None)
                bar.update(tasks[key], completed=count)

        yield update


def _print_report(state: State, report: ExportReport) -> None:
    entity_names = list(dict.fromkeys(n for t in report.tenants for n in [*t.counts, *t.skipped]))
    table = Table(title=f"export to {report.output} ({report.format})")
    for column in ["tenant", "vendor", "status", *entity_names, "seconds"]:
        table.add_column(
            column, justify="right" if column in (*entity_names, "seconds") else "left"
        )
    for t in report.tenants:
        status = "ok" if t.ok else "FAILED"
        counts = [
            str(t.counts[n]) if n in t.counts else ("n/a" if n in t.skipped else "")
            for n in entity_names
        ]
        table.add_row(Text(t.tenant), t.vendor, status, *counts, f"{t.seconds:.2f}")
    state.err.print(table)
    for t in report.failed:
        state.err.print(Text(f"FAILED {t.tenant}: {t.error}"), style="red")
    if report.committed:
        totals = ", ".join(f"{n} {c}" for n, c in report.written.items())
        state.err.print(Text(f"wrote {report.output} in {report.seconds:.1f}s: {totals}"))
    else:
        state.err.print(
            Text(f"nothing written: every tenant failed; {report.output} was left as it was")
        )
