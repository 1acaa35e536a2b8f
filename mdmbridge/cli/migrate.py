"""``mdmbridge migrate plan|apply|verify``: thin over :mod:`mdmbridge.migrate`."""

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

import mdmbridge.migrate as migration
from mdmbridge.cli.exits import EXIT_OK, EXIT_PARTIAL, exit_code_for_stop
from mdmbridge.cli.options import complete_tenant_name
from mdmbridge.cli.state import State
from mdmbridge.migrate.model import Step


def migrate_group() -> click.Group:
    @click.group("migrate")
    def migrate() -> None:
        """Move groups, users, tags and device links between tenants: plan, apply, verify."""

    migrate.add_command(plan_command)
    migrate.add_command(apply_command)
    migrate.add_command(verify_command)
    return migrate


@click.command("plan")
@click.option(
    "--from", "source", required=True, shell_complete=complete_tenant_name, help="source tenant"
)
@click.option(
    "--to", "target", required=True, shell_complete=complete_tenant_name, help="target tenant"
)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--group-separator",
    default=" / ",
    show_default=True,
    help="joins a group's path for flat targets (ezmdm); splits flat names for nested targets",
)
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="count what this ledger records as done (re-planning a migration under way)",
)
@click.pass_obj
def plan_command(
    state: State, source: str, target: str, output: Path, group_separator: str, ledger: Path | None
) -> int:
    """Read both tenants and write a reviewable plan. Writes nothing to either MDM."""
    if source == target:
        raise click.UsageError("--from and --to name the same tenant")
    src, dst = state.tenant(source), state.tenant(target)
    with src.connect(read_only=True) as source_client, dst.connect(read_only=True) as target_client:
        plan = migration.plan(
            source_client,
            target_client,
            options=migration.PlanOptions(group_separator=group_separator),
            ledger=ledger,
        )
    plan.save(output)
    table = Table(title=f"plan {source} ({src.vendor}) -> {target} ({dst.vendor})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, count in plan.summary().items():
        table.add_row(key, str(count))
    state.err.print(table)
    for note in plan.ambiguous[:10]:
        state.err.print(Text(f"ambiguous {note.ref}: {note.reason}"), style="yellow")
    if len(plan.ambiguous) > 10:
        state.err.print(f"... and {len(plan.ambiguous) - 10} more ambiguous (see the plan)")
    state.err.print(
        Text(
            f"wrote {output}: {len(plan.writes)} writes planned; review it, then: "
            f"mdmbridge migrate apply {output}"
        )
    )
    return EXIT_OK


@click.command("apply")
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="send nothing: the transport refuses every write")
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="default: PLAN.ledger.jsonl beside the plan",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON report (default: PLAN.report.json beside the plan)",
)
@click.option("--yes", "-y", is_flag=True, help="do not ask before writing to the target")
@click.pass_obj
def apply_command(
    state: State,
    plan_file: Path,
    dry_run: bool,
    ledger: Path | None,
    report: Path | None,
    yes: bool,
) -> int:
    """Execute a plan; safe to run again after any interruption."""
    plan = migration.load_plan(plan_file)
    tenant = state.tenant(plan.target.tenant)
    if tenant.vendor != plan.target.vendor:
        raise click.UsageError(
            f"the plan targets a {plan.target.vendor} tenant; {tenant.name} is {tenant.vendor}"
        )
    ledger = ledger or plan_file.with_name(plan_file.stem + ".ledger.jsonl")
    report = report or plan_file.with_name(
        plan_file.stem + (".dry-run" if dry_run else "") + ".report.json"
    )
    writes = len(plan.writes)
    if not dry_run and writes and not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(
                "apply writes to the target MDM: confirm with --yes (no terminal to ask)"
            )
        click.confirm(
            f"Write up to {writes} changes to {tenant.name} ({tenant.vendor})?", abort=True
        )
    with tenant.connect(read_only=dry_run) as client, _progress(state, len(plan.steps)) as progress:
        result = migration.apply(plan, client, ledger=ledger, dry_run=dry_run, progress=progress)
    report.write_text(result.to_json() + "\n", encoding="utf-8")
    counts = ", ".join(f"{k} {v}" for k, v in result.counts().items()) or "nothing to do"
    state.err.print(
        Text(
            f"{'dry run: ' if dry_run else ''}{counts}; {result.writes_sent} writes sent "
            f"in {result.seconds:.1f}s; report {report}"
        )
    )
    for failed in [r for r in result.results if r.outcome in ("failed", "skipped")][:10]:
        state.err.print(Text(f"{failed.outcome} {failed.step}: {failed.message}"), style="red")
    if result.interrupted:
        state.err.print(Text(f"stopped: {result.interrupted}"), style="red")
        return exit_code_for_stop(result.stopped_by)
    return EXIT_OK if result.ok else EXIT_PARTIAL


@click.command("verify")
@click.option(
    "--from", "source", required=True, shell_complete=complete_tenant_name, help="source tenant"
)
@click.option(
    "--to", "target", required=True, shell_complete=complete_tenant_name, help="target tenant"
)
@click.option("--ledger", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_obj
def verify_command(state: State, source: str, target: str, ledger: Path, fmt: str) -> int:
    """Compare both sides through the ledger; exit 0 only when the migration is complete."""
    src, dst = state.tenant(source), state.tenant(target)
    with src.connect(read_only=True) as source_client, dst.connect(read_only=True) as target_client:
        result = migration.verify(source_client, target_client, ledger=ledger)
    if fmt == "json":
        click.echo(result.to_json())
    else:
        table = Table(
            title=f"verify {source} -> {target}: {'COMPLETE' if result.complete else 'INCOMPLETE'}"
        )
        table.add_column("what")
        table.add_column("count", justify="right")
        for name in ("missing", "different", "unlinked", "ambiguous"):
            table.add_row(name, str(len(getattr(result, name))))
        table.add_row("not migrated (target cannot hold)", str(result.not_migrated))
        state.out.print(table)
        for entry in (*result.missing, *result.different, *result.unlinked)[:10]:
            state.out.print(Text(f"{entry['kind']} {entry['ref']}: {entry['reason']}"))
    return EXIT_OK if result.complete else EXIT_PARTIAL


@contextlib.contextmanager
def _progress(state: State, total: int) -> Iterator[Any]:
    if not state.interactive or not total:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=state.err,
        transient=True,
    ) as bar:
        task = bar.add_task("applying", total=total)

        def update(done: int, total: int, step: Step) -> None:
            bar.update(task, completed=done, description=f"{step.action} {step.kind}")

        yield update
