"""export: every selected tenant's entities into one output; its progress and summary."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from mdmbridge.cli import pager
from mdmbridge.cli.exits import exit_for
from mdmbridge.cli.options import executor_option, tenant_option
from mdmbridge.cli.state import State
from mdmbridge.cli.table import Column, clean, render
from mdmbridge.config import select_tenants
from mdmbridge.errors import ConfigError
from mdmbridge.executors import open_executor
from mdmbridge.export import ENTITIES, FORMATS, ExportReport, export
from mdmbridge.export.manifest import check_report_path, failure_report, write_report
from mdmbridge.export.sinks import write_errors


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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="[default: from --output's extension: .sqlite/.db, .jsonl, .json, .csv, .parquet]",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="a file (inv.sqlite, inv.jsonl, inv.json; users.csv or devices.parquet for one "
    "entity), a directory for csv/parquet (replaced whole, with its manifest.json), or - "
    "for stdout (jsonl, json, csv)",
)
@click.option(
    "--manifest-line",
    is_flag=True,
    help='jsonl: the first line is the run\'s manifest, {"entity":"_export",...}: '
    "version, time, tenants with status and error, counts",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="also write the run's summary (the manifest) to this JSON file, for cron jobs",
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
@executor_option()
@click.pass_obj
def export_command(
    state: State,
    names: tuple[str, ...],
    entities: str | None,
    where: tuple[str, ...],
    fmt: str | None,
    output: Path,
    manifest_line: bool,
    report_file: Path | None,
    workers: int,
    processes: int,
    executor_url: str | None,
) -> int:
    """Every selected tenant's entities into one unified output."""
    if executor_url is not None and processes:
        raise ConfigError("--executor and --processes: give one of them, not both")
    tenants = select_tenants(state.tenants(), names)
    if report_file is not None:
        check_report_path(report_file)
    try:
        with open_executor(executor_url) as executor, _progress(state) as progress:
            report = export(
                tenants,
                output=output,
                format=fmt,
                entities=entities,
                workers=workers,
                processes=processes,
                executor=executor,
                progress=progress,
                where=list(where) or None,
                manifest_line=manifest_line,
            )
    except BrokenPipeError:
        raise  # -o - into `| head`: the reader is done (main says so), not a write failure
    except write_errors() as exc:
        # The output could not be written (a full disk, a file grown too large): the
        # staging output is gone and the previous output is as it was. Say so, in one line.
        error = ConfigError(
            f"--output {output}: the export could not be written ({_os_reason(exc)}); "
            f"{output} was left as it was"
        )
        if report_file is not None:
            write_report(report_file, failure_report(output, error), exit_code=2)
        raise error from None
    print_export_report(report)
    errors = [t.error for t in report.failed if t.error is not None]
    code = exit_for(errors, succeeded=len(report.tenants) - len(errors))
    if report_file is not None:
        write_report(report_file, {"output": str(output), **report.manifest}, exit_code=code)
    return code


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return " ".join((str(exc) or type(exc).__name__).split())


@contextlib.contextmanager
def _progress(state: State) -> Iterator[Any]:
    """A rich progress bar per tenant and entity on a terminal; nothing otherwise (and
    then rich is not imported: it costs start-up, see ``cli.app``)."""
    if not state.interactive:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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


def print_export_report(report: ExportReport) -> None:
    """The summary on stderr, fitted to the terminal: the counts are never cut (a cut
    "20…" is a wrong number) and no column is dropped; the names are cut instead."""
    entity_names = list(dict.fromkeys(n for t in report.tenants for n in [*t.counts, *t.skipped]))
    columns = ["tenant", "vendor", "status", *entity_names, "seconds"]
    numbers = (*entity_names, "seconds")
    specs = [Column(c, right=c in numbers, keep=c in (*numbers, "status")) for c in columns]
    rows = []
    for t in report.tenants:
        counts = [
            str(t.counts[n]) if n in t.counts else ("n/a" if n in t.skipped else "")
            for n in entity_names
        ]
        status = "ok" if t.ok else "FAILED"
        rows.append([clean(t.tenant), clean(t.vendor), status, *counts, f"{t.seconds:.2f}"])
    stream = sys.stderr
    lines = render(
        specs,
        rows,
        width=pager.width(stream),
        title=f"export to {report.output} ({report.format})",
        shed=False,
        bold=pager.colour(stream),
        plain=not pager.unicode(stream),
    )
    pager.show(lines, stream, page=False)
    for t in report.failed:
        _say(stream, f"FAILED {t.tenant}: {t.error}", red=True)
    if report.committed:
        totals = ", ".join(f"{n} {c}" for n, c in report.written.items())
        _say(stream, f"wrote {report.output} in {report.seconds:.1f}s: {totals}")
    else:
        _say(stream, f"nothing written: every tenant failed; {report.output} was left as it was")


def _say(stream: IO[str], text: str, *, red: bool = False) -> None:
    """One line of the summary, its control characters made visible (a vendor's error
    text could hold a terminal escape); red only where ``pager.colour`` allows. Plain
    writes, not rich: the summary costs an export no import of rich (~20 ms)."""
    line = clean(text)
    if red and pager.colour(stream):
        line = f"\x1b[31m{line}\x1b[0m"
    stream.write(line + "\n")
