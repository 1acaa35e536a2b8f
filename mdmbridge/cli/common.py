"""What the resource commands share: building a command, tenants, confirmation, output."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import click

from mdmbridge.cli.exits import EXIT_USAGE
from mdmbridge.cli.options import complete_tenant_name
from mdmbridge.cli.output import emit, emit_one, record_rows
from mdmbridge.cli.state import State
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.entities import Entity, columns_of
from mdmbridge.errors import ValidationError
from mdmbridge.models import Record

Decorator = Callable[[Any], Any]

TENANT = click.argument("tenant", shell_complete=complete_tenant_name)
RAW = click.option("--raw", is_flag=True, help="include the vendor's payload (raw column)")
YES = click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
# A listing's output: which columns, how many rows, whether a long table is paged.
COLUMNS = click.option(
    "--columns",
    "columns",
    default=None,
    metavar="A,B,C",
    help="only these columns, in this order, in every format (e.g. id,name,serial_number)",
)
LIMIT = click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="stop after this many records"
)
NO_PAGER = click.option(
    "--no-pager",
    "no_pager",
    is_flag=True,
    help="never page (by default a table longer than the terminal goes through $PAGER)",
)
LISTING = (COLUMNS, LIMIT, NO_PAGER)


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


@dataclass(frozen=True)
class View:
    """How a listing is shown: ``--columns`` (checked), ``--limit``, and ``--no-pager``."""

    columns: list[str] | None = None
    limit: int | None = None
    page: bool = True


def view_of(model: type[Record], *, columns: str | None, limit: int | None, no_pager: bool) -> View:
    """The listing options (:data:`LISTING`), checked before any request is sent."""
    return View(chosen_columns(model, columns), limit, not no_pager)


def show_records(
    state: State,
    model: type[Record],
    records: Iterable[Record],
    fmt: str,
    *,
    raw: bool,
    title: str,
    view: View = View(),
) -> int:
    """A listing: every format streams; tables leave tenant and vendor to the title.

    ``view.columns`` picks and orders the columns in every format; ``view.limit`` stops
    reading after that many records (no further pages are fetched)."""
    if view.limit is not None:
        records = itertools.islice(records, view.limit)
    wanted = view.columns
    names, rows = record_rows(records, raw=raw or bool(wanted and "raw" in wanted))
    if wanted:
        rows = ({c: row.get(c) for c in wanted} for row in rows)
        return emit(state.out, wanted, rows, fmt, title=title, chosen=True, page=view.page)
    if not names:
        names = [c.name for c in columns_of(model) if raw or c.name != "raw"]
    if fmt == "table":
        names = [c for c in names if c not in ("tenant", "vendor")]
    return emit(state.out, names, rows, fmt, title=title, page=view.page)


def show_record(state: State, record: Record, fmt: str, *, raw: bool, single: bool = False) -> None:
    """One record: a field/value table for people, one row in a machine format (with
    ``single``, as ``get`` prints it, ``json`` is the object itself, not a list of one)."""
    columns, rows = record_rows([record], raw=raw)
    if fmt != "table":
        if single:
            emit_one(state.out, columns, next(iter(rows)), fmt)
        else:
            emit(state.out, columns, rows, fmt)
        return
    (row,) = list(rows)
    emit(
        state.out,
        ["field", "value"],
        [{"field": c, "value": row[c]} for c in columns],
        "table",
        title=f"{record.entity} {record.id} in {record.tenant} ({record.vendor})",
        keep=("field",),
    )


def chosen_columns(model: type[Record], value: str | None) -> list[str] | None:
    """``--columns id,name``: the names, checked against the model's columns before any
    request is sent; an unknown one is a one-line usage error listing the valid ones."""
    if value is None:
        return None
    valid = [c.name for c in columns_of(model)]
    names = [n.strip().lower().replace("-", "_") for n in value.split(",")]
    names = [n for n in names if n]
    if not names:
        raise ValidationError(f"--columns: no column named; choose from {', '.join(valid)}")
    for name in names:
        if name not in valid:
            raise ValidationError(
                f"--columns: unknown column {name!r}; choose from {', '.join(valid)}"
            )
    return list(dict.fromkeys(names))
