"""``mdmbridge sync``, ``mdmbridge changes`` and ``mdmbridge runs``: the inventory database
with history (mdmbridge/sync/), thin over it. See docs/sync.md."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import click
from rich.table import Table
from rich.text import Text

from mdmbridge.audit_read import parse_instant
from mdmbridge.cli.exits import EXIT_OK, exit_for
from mdmbridge.cli.options import executor_option, tenant_option
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.config import select_tenants
from mdmbridge.errors import ValidationError
from mdmbridge.executors import open_executor
from mdmbridge.export.schema import ENTITIES, parse_entities
from mdmbridge.sync.query import CHANGE_COLUMNS, RUN_COLUMNS, ChangeQuery, changes, runs
from mdmbridge.sync.run import SyncReport, run_sync
from mdmbridge.sync.store import Store, open_store
from mdmbridge.where import parse_where_for

_DB_HELP = "the sync database: a file path, sqlite:///path or postgresql://user@host:port/db"
_WHERE_HELP = (
    "only records this holds for (repeatable; all must hold), e.g. 'devices.platform=ios' "
    "(see docs/working-across-tenants.md)"
)


_F = TypeVar("_F", bound=Callable[..., Any])


def _db_option() -> Callable[[_F], _F]:
    return click.option("--db", "db", required=True, metavar="URL", help=_DB_HELP)


@click.command("sync")
@_db_option()
@tenant_option()
@click.option(
    "--entities",
    default=None,
    help=f"comma-separated: {', '.join(ENTITIES)}, or all [default: devices,users,groups]",
)
@click.option("--where", "where", multiple=True, metavar="EXPR", help=_WHERE_HELP)
@click.option(
    "--workers", type=click.IntRange(1, 256), default=4, show_default=True, help="tenants at once"
)
@executor_option()
@click.pass_obj
def sync_command(
    state: State,
    db: str,
    names: tuple[str, ...],
    entities: str | None,
    where: tuple[str, ...],
    workers: int,
    executor_url: str | None,
) -> int:
    """Bring the database up to date with every selected tenant; record what changed."""
    tenants = select_tenants(state.tenants(), names)
    specs = parse_entities(entities)
    chosen = parse_where_for(list(where), specs) if where else None
    store = open_store(db)
    try:

        def progress(tenant: str, status: str) -> None:
            if state.interactive:
                state.err.print(Text(f"{tenant}: {status}"))

        with open_executor(executor_url) as executor:
            report = run_sync(
                store,
                tenants,
                entities=specs,
                workers=workers,
                where=chosen,
                progress=progress,
                executor=executor,
            )
    finally:
        store.close()
    _print_report(state, report)
    errors = [t.error for t in report.failed if t.error is not None]
    return exit_for(errors, succeeded=len(report.tenants) - len(report.failed))


def _print_report(state: State, report: SyncReport) -> None:
    table = Table(title=f"sync run {report.run_id}: {report.outcome}")
    for column in ("tenant", "vendor", "status", "records", "written", "changes"):
        table.add_column(
            column, justify="left" if column in ("tenant", "vendor", "status") else "right"
        )
    for t in report.tenants:
        table.add_row(
            Text(t.tenant),
            t.vendor,
            t.status if t.status != "failed" else "FAILED",
            str(sum(t.counts.values())),
            str(t.written),
            str(t.change_rows),
        )
    state.err.print(table)
    for t in report.failed:
        state.err.print(Text(f"FAILED {t.tenant}: {t.error} (left unchanged)"), style="red")
    state.err.print(Text(report_line(report)))


def report_line(report: SyncReport) -> str:
    """The run in one line (the demo prints only this)."""
    return (
        f"run {report.run_id} {report.outcome} in {report.seconds:.1f}s: "
        f"{report.written} rows written, {report.change_rows} changes"
    )


@click.command("changes")
@_db_option()
@click.option("--since", default=None, metavar="WHEN", help="runs since: 7d, 12h, or an ISO date")
@click.option("--run", "run_id", type=int, default=None, metavar="N", help="only run N")
@tenant_option()
@click.option(
    "--entity",
    "entity_names",
    multiple=True,
    type=click.Choice(list(ENTITIES)),
    help="only this entity (repeatable)",
)
@click.option("--where", "where", multiple=True, metavar="EXPR", help=_WHERE_HELP)
@format_option()
@click.pass_obj
def changes_command(
    state: State,
    db: str,
    since: str | None,
    run_id: int | None,
    names: tuple[str, ...],
    entity_names: tuple[str, ...],
    where: tuple[str, ...],
    fmt: str,
) -> int:
    """What changed, newest first: one row per added, removed or restored record and per
    changed field."""
    if since is not None and run_id is not None:
        raise ValidationError("--since and --run: give one of them")
    try:
        after = None if since is None else parse_instant(since)
    except ValueError as exc:
        raise ValidationError(f"--since: {exc}") from None
    scope = list(entity_names) or list(ENTITIES)
    chosen = parse_where_for(list(where), scope) if where else None
    query = ChangeQuery(after, run_id, names, entity_names, chosen)
    with _reading(db) as store:
        rows = changes(store, query)
        emit(state.out, CHANGE_COLUMNS, _shown(rows, fmt), fmt, title="changes, newest first")
    return EXIT_OK


@click.command("runs")
@_db_option()
@format_option()
@click.pass_obj
def runs_command(state: State, db: str, fmt: str) -> int:
    """Every sync run, newest first, with each tenant's status."""
    with _reading(db) as store:
        emit(state.out, RUN_COLUMNS, _shown(runs(store), fmt), fmt, title="sync runs")
    return EXIT_OK


@contextlib.contextmanager
def _reading(db: str) -> Iterator[Store]:
    """The database opened for reading; it must hold a sync already."""
    store = open_store(db)
    try:
        store.require_schema()
        yield store
    finally:
        store.close()


def _shown(rows: Iterable[dict[str, Any]], fmt: str) -> Iterator[dict[str, Any]]:
    """Rows as given for machines; counts flattened to ``entity=n`` text for a table/csv."""
    for row in rows:
        if fmt in ("table", "csv") and isinstance(row.get("counts"), dict):
            row = {**row, "counts": " ".join(f"{k}={v}" for k, v in row["counts"].items())}
        yield row
