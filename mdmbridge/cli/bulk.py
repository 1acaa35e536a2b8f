"""``mdmbridge bulk plan|apply|status``: one action across tenants, thin over
:mod:`mdmbridge.bulk`.

``plan`` reads (read-only clients) and writes a reviewable plan file; ``apply`` shows what
it will send, asks for the number of targets to be typed (``--yes`` for scripts; without a
terminal it refuses), and sends, resumably; ``status`` reads the ledger.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

import mdmbridge.bulk as bulk
from mdmbridge.bulk.model import BulkPlan, ledger_path_for
from mdmbridge.cli.bulk_apply import apply_command
from mdmbridge.cli.bulk_options import (
    _LEDGER,
    _OUTPUT,
    _PLAN,
    _TENANTS,
    ITEM_COLUMNS,
    STATUS_COLUMNS,
    select_tenants,
)
from mdmbridge.cli.exits import EXIT_AUTH, EXIT_OK, EXIT_PARTIAL
from mdmbridge.cli.output import FORMATS, emit
from mdmbridge.cli.state import State
from mdmbridge.errors import ValidationError

__all__ = [
    "ITEM_COLUMNS",
    "STATUS_COLUMNS",
    "apply_command",
    "bulk_group",
    "plan_send_command",
    "select_tenants",
    "status_command",
]


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
