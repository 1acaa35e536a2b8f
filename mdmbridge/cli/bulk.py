"""``mdmbridge bulk plan|apply|status``: one action across tenants, thin over
:mod:`mdmbridge.bulk`.

``plan`` reads (read-only clients) and writes a reviewable plan file; ``apply`` shows what
it will send, asks for the number of targets to be typed (``--yes`` for scripts; without a
terminal it refuses), and sends, resumably; ``status`` reads the ledger.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
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
from mdmbridge.cli.common import ConfirmationNeeded
from mdmbridge.cli.exits import EXIT_AUTH, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL
from mdmbridge.cli.output import FORMATS, emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.config import Tenant
from mdmbridge.errors import AuthError, ValidationError

ITEM_COLUMNS = [
    "tenant",
    "vendor",
    "device_id",
    "name",
    "serial",
    "op",
    "status",
    "note",
    "error_class",
    "error",
]
STATUS_COLUMNS = ["tenant", "vendor", "targets", "done", "failed", "unknown", "pending"]

_TENANTS = click.option(
    "-t",
    "--tenant",
    "tenants",
    multiple=True,
    metavar="TENANT",
    help="a tenant name, @label or glob (repeatable; default: every tenant)",
)
_OUTPUT = click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the plan file to write",
)
_PLAN = click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
_LEDGER = click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="default: PLAN.ledger.jsonl beside the plan",
)


def select_tenants(state: State, selectors: Sequence[str]) -> list[Tenant]:
    """``-t``: names, ``@label``s and globs (``config.select_tenants``); all when none."""
    return state.select(list(selectors) or None)


def bulk_group() -> click.Group:
    @click.group("bulk")
    def group() -> None:
        """One action across many tenants: plan it, review it, apply it (resumably)."""

    @click.group("plan")
    def plan() -> None:
        """Write a plan of every target. Reads only: nothing is sent to any MDM."""

    plan.add_command(plan_send_command)
    plan.add_command(_ensure_command("group"))
    plan.add_command(_ensure_command("tag"))
    group.add_command(plan)
    group.add_command(apply_command)
    group.add_command(status_command)
    return group


# --------------------------------------------------------------------------- plan


@click.command("send")
@click.argument("words", nargs=-1, required=True, metavar="COMMAND [ARG]")
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="EXPR",
    help="only devices where FIELD=VALUE (also != < <= > >= ~); repeatable, all must match",
)
@click.option("--all", "every", is_flag=True, help="every device of the tenants (no --where)")
@click.option("--vpp/--no-vpp", default=None, help="install-app: through volume purchase (VPP)")
@_TENANTS
@_OUTPUT
@click.pass_obj
def plan_send_command(
    state: State,
    words: tuple[str, ...],
    where: tuple[str, ...],
    every: bool,
    vpp: bool | None,
    tenants: tuple[str, ...],
    output: Path,
) -> int:
    """Plan a device command for every matching device: COMMAND is one of lock, wipe,
    clear-passcode, refresh, message TEXT, install-app APP_ID, remove-app IDENTIFIER."""
    word, argument = words[0], (words[1] if len(words) > 1 else None)
    if len(words) > 2:
        raise ValidationError(f"{word} takes at most one argument (quote text with spaces)")
    if not where and not every:
        raise ValidationError("choose the devices with --where (or every device with --all)")
    if where and every:
        raise ValidationError("--where and --all contradict each other")
    plan = bulk.plan_send(select_tenants(state, tenants), word, argument, where=where, vpp=vpp)
    return _wrote(state, plan, output)


def _ensure_command(entity: str) -> click.Command:
    @click.command(f"ensure-{entity}")
    @click.option("--name", required=True, help=f"the {entity}'s name")
    @_TENANTS
    @_OUTPUT
    @click.pass_obj
    def ensure(state: State, name: str, tenants: tuple[str, ...], output: Path) -> int:
        plan = bulk.plan_ensure(select_tenants(state, tenants), entity, name)
        return _wrote(state, plan, output)

    ensure.help = (
        f"Plan a {entity} named NAME in every tenant that can hold one: an existing one is "
        f"reused, a missing one created; tenants without {entity}s are skipped."
    )
    return ensure


def _wrote(state: State, plan: BulkPlan, output: Path) -> int:
    plan.save(output)
    table = Table(title=f"plan: {plan.action.describe()}")
    for column in ("tenant", "vendor", "status", "listed", "targets", "reason"):
        table.add_column(column, justify="right" if column in ("listed", "targets") else "left")
    for tenant in plan.tenants:
        counts = ", ".join(f"{k} {v}" for k, v in tenant.counts.items()) or "-"
        table.add_row(
            Text(tenant.tenant),
            tenant.vendor,
            tenant.status,
            str(tenant.listed),
            counts,
            Text(tenant.reason or ""),
        )
    state.err.print(table)
    summary = plan.summary()
    skipped = summary["tenants_skipped"] + summary["tenants_failed"]
    state.err.print(
        Text(
            f"wrote {output}: {summary['writes']} writes planned in "
            f"{summary['tenants_planned']} tenant(s)"
            + (f" ({skipped} skipped or failed, see above)" if skipped else "")
            + f"; review it, then: mdmbridge bulk apply {output}"
        )
    )
    failed = [t for t in plan.tenants if t.status == "failed"]
    if not failed:
        return EXIT_OK
    auth = all(t.error_class == "AuthError" for t in failed)
    return EXIT_AUTH if auth and not summary["tenants_planned"] else EXIT_PARTIAL


# --------------------------------------------------------------------------- apply


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


# --------------------------------------------------------------------------- status


@click.command("status")
@_PLAN
@_LEDGER
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; json, jsonl or csv for machines",
)
@click.pass_obj
def status_command(state: State, plan_file: Path, ledger: Path | None, fmt: str) -> int:
    """Done, failed, unknown and pending per tenant, from the ledger. Sends nothing; exit
    0 only when every target is done."""
    plan = bulk.load_plan(plan_file)
    ledger = ledger or ledger_path_for(plan_file)
    result = bulk.status(plan, ledger=ledger)
    title = f"{plan.action.describe()}: {'COMPLETE' if result.complete else 'INCOMPLETE'}"
    emit(state.out, STATUS_COLUMNS, result.rows(), fmt, title=title)
    if fmt == "table" and result.unknown:
        state.err.print(
            Text(
                f"{len(result.unknown)} unknown (check them; apply --resend-unknown sends "
                f"again): {', '.join(result.unknown[:5])}"
                + (" ..." if len(result.unknown) > 5 else "")
            )
        )
    return EXIT_OK if result.complete else EXIT_PARTIAL
