"""``mdmbridge bulk apply``: the preview, the typed confirmation, the progress bars and
the result of sending a plan (:func:`mdmbridge.bulk.apply` does the sending)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

import mdmbridge.bulk as bulk
from mdmbridge import audit
from mdmbridge.bulk.ledger import BulkLedger
from mdmbridge.bulk.model import BulkPlan, SendAction, ledger_path_for
from mdmbridge.cli.bulk_options import _LEDGER, _PLAN, ITEM_COLUMNS
from mdmbridge.cli.common import ConfirmationNeeded
from mdmbridge.cli.exits import EXIT_AUTH, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.errors import AuthError


@click.command("apply")
@_PLAN
@click.option("--yes", "-y", is_flag=True, help="do not ask (for scripts)")
@click.option("--dry-run", is_flag=True, help="send nothing: the transport refuses every write")
@click.option(
    "--rate",
    default=bulk.DEFAULT_RATE,
    show_default=True,
    help="per-tenant pace: 5/s, 120/min, 1000/h, or 'unlimited'",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="send again to targets whose earlier outcome is unknown (it may have landed)",
)
@_LEDGER
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write a JSON report of every target here",
)
@format_option()
@click.pass_obj
def apply_command(
    state: State,
    plan_file: Path,
    yes: bool,
    dry_run: bool,
    rate: str,
    resend_unknown: bool,
    ledger: Path | None,
    report: Path | None,
    fmt: str,
) -> int:
    """Send a plan's writes, tenants in parallel; safe to run again after any interruption:
    nothing is sent twice."""
    per_second = bulk.parse_rate(rate)  # a bad --rate: one line, exit 2
    plan = bulk.load_plan(plan_file)
    ledger = ledger or ledger_path_for(plan_file)
    names = list(dict.fromkeys(t.tenant for t in plan.targets))
    tenants = {name: state.tenant(name) for name in names}  # exact names, as planned
    book = BulkLedger(ledger, plan)
    with contextlib.ExitStack() as cleanup:
        if not dry_run:  # locked before the counts are shown: no other apply can change them
            audit.resolve(None)  # an unwritable audit log: stop before asking anything
            cleanup.callback(book.close)
            book.open()
        preview = _preview(plan, book, resend_unknown)
        to_send = sum(p["to send"] for p in preview.values())
        asking = not dry_run and to_send > 0 and not yes
        if asking and not sys.stdin.isatty():
            raise ConfirmationNeeded(
                f"bulk apply would {plan.action.describe()} to {to_send} targets: confirm "
                "with --yes (no terminal to ask)"
            )
        _show_preview(state, plan, preview, dry_run)
        if asking:
            _confirm(plan, to_send, len([p for p in preview.values() if p["to send"]]))
        with _progress(state, plan) as progress:
            result = bulk.apply(
                plan,
                dict(tenants),
                ledger=book,  # a dry run reads it (what is done is done) and never writes it
                dry_run=dry_run,
                resend_unknown=resend_unknown,
                rate=per_second,
                progress=progress,
            )
    if report is not None:
        try:
            report.write_text(result.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            state.err.print(Text(f"mdmbridge: cannot write the report {report}: {exc.strerror}"))
    rows = [{c: getattr(item, c) for c in ITEM_COLUMNS} for item in result.items]
    if fmt != "table":
        emit(state.out, ITEM_COLUMNS, rows, fmt)
    _show_result(state, result, report)
    if result.cancelled:
        return EXIT_INTERRUPTED
    if result.ok:
        return EXIT_OK
    errors = result.errors()
    sent_ok = any(i.status == "done" for i in result.items)
    if errors and not sent_ok and all(isinstance(e, AuthError) for e in errors):
        return EXIT_AUTH
    return EXIT_PARTIAL


def _preview(plan: BulkPlan, ledger: BulkLedger, resend: bool) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    sends = isinstance(plan.action, SendAction)
    for target in plan.targets:
        row = out.setdefault(
            target.tenant,
            {"vendor": target.vendor, "targets": 0, "done": 0, "to send": 0, "unknown": 0},
        )
        row["targets"] += 1
        state = ledger.state(target.key)
        if state == "done" or not target.writes:
            row["done"] += 1
        elif state == "unknown" and sends and not resend:
            row["unknown"] += 1
        else:
            row["to send"] += 1
    return out


def _show_preview(
    state: State, plan: BulkPlan, preview: dict[str, dict[str, Any]], dry_run: bool
) -> None:
    title = f"{'dry run: ' if dry_run else ''}{plan.action.describe()} (plan of {plan.created_at})"
    table = Table(title=title)
    table.add_column("tenant")
    table.add_column("vendor")
    for column in ("targets", "done", "to send", "unknown (not re-sent)"):
        table.add_column(column, justify="right")
    for tenant, row in preview.items():
        table.add_row(
            Text(tenant),
            row["vendor"],
            str(row["targets"]),
            str(row["done"]),
            str(row["to send"]),
            str(row["unknown"]),
        )
    state.err.print(table)
    for skipped in [t for t in plan.tenants if t.status != "planned"]:
        state.err.print(Text(f"{skipped.status} at planning: {skipped.tenant}: {skipped.reason}"))


def _confirm(plan: BulkPlan, to_send: int, tenants: int) -> None:
    what = plan.action.describe()
    if not sys.stdin.isatty():
        raise ConfirmationNeeded(
            f"bulk apply would {what} to {to_send} targets: confirm with --yes (no terminal to ask)"
        )
    typed = click.prompt(
        f"{what[:1].upper()}{what[1:]}: {to_send} targets in {tenants} tenant(s). "
        f"Type {to_send} to go on",
        default="",
        show_default=False,
        err=True,
    )
    if typed.strip() != str(to_send):
        click.echo("that is not the number of targets: nothing was sent", err=True)
        raise click.exceptions.Abort()


def _show_result(state: State, result: bulk.BulkReport, report: Path | None) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in result.counts().items()) or "nothing to do"
    where = f"; report {report}" if report is not None else ""
    state.err.print(
        Text(
            f"{'dry run: ' if result.dry_run else ''}{counts}; {result.sent} sent in "
            f"{result.seconds:.1f}s{where}"
        )
    )
    trouble = [i for i in result.items if i.status in ("failed", "unknown")]
    for item in trouble[:10]:
        detail = f": {item.error_class}: {item.error}" if item.error else ""
        state.err.print(
            Text(f"{item.status} {item.tenant} {item.device_id or item.name}: {item.note}{detail}"),
            style="red" if item.status == "failed" else "yellow",
        )
    if len(trouble) > 10:
        state.err.print(f"... and {len(trouble) - 10} more (see --report or --format json)")
    for tenant in result.tenants:
        if tenant.stopped:
            state.err.print(Text(f"stopped {tenant.tenant}: {tenant.stopped}"), style="red")
    if result.interrupted:
        state.err.print(Text(f"{result.interrupted}; run apply again to continue"), style="red")


@contextlib.contextmanager
def _progress(state: State, plan: BulkPlan) -> Iterator[Any]:
    if not state.interactive or not plan.targets:
        yield None
        return
    totals: dict[str, int] = {}
    for target in plan.targets:
        totals[target.tenant] = totals.get(target.tenant, 0) + 1
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=state.err,
        transient=True,
    ) as bar:
        tasks = {name: bar.add_task(name, total=total) for name, total in totals.items()}

        def update(tenant: str, done: int, total: int) -> None:
            bar.update(tasks[tenant], completed=done)

        yield update
