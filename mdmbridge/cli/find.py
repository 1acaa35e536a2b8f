"""``mdmbridge find``: one device, user or group across every selected tenant.

    mdmbridge find --serial C02XK3ABHG7F
    mdmbridge find --email anna.berg@acme.example -t @eu
    mdmbridge find --name göteborg --entity groups
    mdmbridge find --where 'os_version<17.4' --where platform=ios --format csv

Tenants are searched in parallel (``fleet.run_for_each``) with read-only clients. A serial
number or an e-mail address goes to the vendor as its list filter where it can apply one,
else the client filters as the listing streams (:mod:`mdmbridge.local_filters`); ``--name``
and ``--where`` are tested on each record. Every row names its tenant and vendor; a tenant
that fails is reported on stderr, one line each, beside the others' results (exit 1).
"""

from __future__ import annotations

from typing import Any

import click
from rich.text import Text

from mdmbridge.cli.common import COLUMNS, LIMIT, NO_PAGER, chosen_columns
from mdmbridge.cli.exits import exit_for
from mdmbridge.cli.options import tenant_option
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.config import Tenant, select_tenants
from mdmbridge.entities import ENTITIES, columns_of
from mdmbridge.export.schema import row_maker
from mdmbridge.fleet import run_for_each
from mdmbridge.where import Condition, Where, field_kinds, parse_where

SEARCHABLE = ("devices", "users", "groups")
# The key a search starts from, the entity it means, and the list filter it becomes.
KEYS = {"serial": ("devices", "serial_number"), "email": ("users", "email")}
# What a person's table shows (it must fit a terminal); json, jsonl and csv hold every field.
TABLE_COLUMNS = {
    "devices": ("name", "serial_number", "platform", "os_version", "user_id", "last_seen"),
    "users": ("name", "email", "phone", "group_id"),
    "groups": ("name", "path", "number"),
}


def find_entity(entity: str | None, serial: str | None, email: str | None) -> str:
    """``--entity``, else what the key means (serial: devices, e-mail: users), else devices."""
    keyed = [
        (flag, KEYS[flag][0]) for flag, value in (("serial", serial), ("email", email)) if value
    ]
    if len(keyed) > 1:
        raise click.UsageError("--serial finds devices and --email users: give one of them")
    if keyed:
        flag, meant = keyed[0]
        if entity is not None and entity != meant:
            raise click.UsageError(
                f"--{flag} finds {meant}, not {entity} (use --where on {entity}'s fields)"
            )
        return meant
    return entity or "devices"


def name_condition(text: str, entity: str) -> Condition:
    """``--name TEXT``: TEXT anywhere in the name, case-insensitively (``name~TEXT``)."""
    return Condition(f"name~{text}", "name", "~", field_kinds(entity)["name"], text.casefold())


@click.command("find")
@click.option("--serial", default=None, help="a device's serial number (whole, any case)")
@click.option("--email", default=None, help="a user's e-mail address (whole, any case)")
@click.option(
    "--name", "name_text", default=None, metavar="TEXT", help="TEXT in the name (any case)"
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="EXPR",
    help="FIELD OP VALUE, OP one of = != < <= > >= ~ (repeatable; all must hold), e.g. "
    "'os_version<17.4', 'last_seen<30d', platform=ios",
)
@click.option(
    "--entity",
    type=click.Choice(SEARCHABLE),
    default=None,
    help="what to find [default: devices; users with --email]",
)
@tenant_option()
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--raw", is_flag=True, help="include the vendor's payload (raw column)")
@COLUMNS
@LIMIT
@NO_PAGER
@format_option()
@click.pass_obj
def find_command(
    state: State,
    serial: str | None,
    email: str | None,
    name_text: str | None,
    where: tuple[str, ...],
    entity: str | None,
    names: tuple[str, ...],
    workers: int,
    raw: bool,
    columns: str | None,
    limit: int | None,
    no_pager: bool,
    fmt: str,
) -> int:
    """Find devices, users or groups across the selected tenants, in parallel.

    ``--limit`` caps the rows shown, not the search: every selected tenant is still
    searched, so a failure is never hidden behind the cap."""
    if not any((serial, email, name_text, where)):
        raise click.UsageError("say what to find: --serial, --email, --name or --where")
    for flag, value in (("--serial", serial), ("--email", email), ("--name", name_text)):
        if value is not None and not value.strip():
            raise click.UsageError(f"{flag} is empty")
    chosen = find_entity(entity, serial, email)
    spec = ENTITIES[chosen]
    test = parse_where(list(where), spec)  # a mistake is exit 2, before any request
    wanted = chosen_columns(spec.model, columns)
    raw = raw or bool(wanted and "raw" in wanted)  # named in --columns: the payload is read
    if name_text is not None:
        test = Where(test.entity, (name_condition(name_text.strip(), chosen), *test.conditions))
    filters: dict[str, Any] = {}
    for key, value in (("serial", serial), ("email", email)):
        if value:
            filters[KEYS[key][1]] = value.strip()
    tenants = select_tenants(state.tenants(), names)

    fields = tuple(c for c in columns_of(spec.model) if raw or c.name != "raw")
    make = row_maker(fields, encode_json=False)
    keys = [c.name for c in fields]

    def search(tenant: Tenant) -> list[dict[str, Any]]:
        with tenant.connect(read_only=True) as client:
            records = getattr(client, spec.name).list(**filters)
            return [dict(zip(keys, make(r), strict=True)) for r in records if test(r)]

    outcomes = {
        o.tenant: o for o in run_for_each(tenants, search, workers=workers, activity="searching")
    }
    ordered = [outcomes[t.name] for t in tenants]  # rows in the order the tenants were chosen
    rows = [row for o in ordered if o.value is not None for row in o.value]
    shown = keys
    if wanted:
        shown = wanted
        rows = [{c: row.get(c) for c in wanted} for row in rows]
    elif fmt == "table":
        shown = ["tenant", "vendor", "id", *TABLE_COLUMNS[spec.name], *(["raw"] if raw else [])]
    emit(
        state.out,
        shown,
        rows,
        fmt,
        title=f"{spec.name} found",
        limit=limit,
        chosen=bool(wanted),
        page=not no_pager,
    )
    errors = [o.error for o in ordered if o.error is not None]
    for outcome in ordered:
        if outcome.error is not None:
            state.err.print(
                Text(f"FAILED {outcome.tenant} ({outcome.vendor}): {outcome.error}"), style="red"
            )
    searched = len(ordered) - len(errors)
    state.err.print(
        Text(
            f"{len(rows)} {spec.name if len(rows) != 1 else spec.singular} found in "
            f"{searched} of {len(ordered)} tenants" + (f"; {len(errors)} failed" if errors else "")
        )
    )
    return exit_for(errors, succeeded=searched)
