"""What the resource commands share: building a command, tenants, confirmation, output."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import click

from mdmbridge.cli.exits import EXIT_USAGE
from mdmbridge.cli.output import emit, record_rows
from mdmbridge.cli.state import State
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.entities import Entity, columns_of
from mdmbridge.models import Record

Decorator = Callable[[Any], Any]

TENANT = click.argument("tenant")
RAW = click.option("--raw", is_flag=True, help="include the vendor's payload (raw column)")
YES = click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")


def command(name: str, help: str, run: Callable[..., int], *params: Decorator) -> click.Command:
    """A click command calling ``run(state, **params)``; ``params`` in display order."""
    function: Any = click.pass_obj(run)
    for decorate in reversed(params):
        function = decorate(function)
    built: click.Command = click.command(name, help=help)(function)
    return built


def flag(name: str) -> str:
    """``serial_number`` -> ``--serial-number``: options are named after the keywords."""
    return "--" + name.replace("_", "-")


def namespace(client: Client, entity: Entity) -> Any:
    """The client namespace of the entity (``client.groups``): its attribute is its name."""
    return getattr(client, entity.name)


def where(tenant: Tenant) -> str:
    return f"{tenant.name} ({tenant.vendor})"


def title(client: Client) -> str:
    return f"{client.tenant} ({client.vendor})"


class ConfirmationNeeded(click.ClickException):
    """A destructive action, no ``--yes`` and no terminal to ask: a usage error, one line."""

    exit_code = EXIT_USAGE


def confirm(action: str, *, yes: bool) -> None:
    """Ask before something that cannot be undone; without a terminal, refuse (exit 2)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationNeeded(
            f"refusing to {action} without --yes (it cannot be undone; no terminal to ask)"
        )
    click.confirm(f"{action[:1].upper()}{action[1:]}? This cannot be undone.", abort=True, err=True)


def show_records(
    state: State,
    model: type[Record],
    records: Iterable[Record],
    fmt: str,
    *,
    raw: bool,
    title: str,
) -> int:
    """A listing: every format streams; tables leave tenant and vendor to the title."""
    columns, rows = record_rows(records, raw=raw)
    if not columns:
        columns = [c.name for c in columns_of(model) if raw or c.name != "raw"]
    if fmt == "table":
        columns = [c for c in columns if c not in ("tenant", "vendor")]
    return emit(state.out, columns, rows, fmt, title=title)


def show_record(state: State, record: Record, fmt: str, *, raw: bool) -> None:
    """One record: a field/value table for people, one row in a machine format."""
    columns, rows = record_rows([record], raw=raw)
    if fmt != "table":
        emit(state.out, columns, rows, fmt)
        return
    (row,) = list(rows)
    emit(
        state.out,
        ["field", "value"],
        [{"field": c, "value": row[c]} for c in columns],
        "table",
        title=f"{record.entity} {record.id} in {record.tenant} ({record.vendor})",
    )
