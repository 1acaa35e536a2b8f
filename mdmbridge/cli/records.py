"""``list``, ``get``, ``create``/``upsert``, ``update`` and ``delete`` of one entity, built
from its registry declaration: one option per filter or writable field, named after the
client's keyword, with the help the model declares. A field added to a model shows up
here with no CLI change. Every write is audited (:mod:`mdmbridge.audit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from mdmbridge import audit
from mdmbridge.cli.common import (
    LISTING,
    RAW,
    TENANT,
    YES,
    Decorator,
    command,
    confirm,
    flag,
    namespace,
    show_record,
    show_records,
    title,
    view_of,
    where,
)
from mdmbridge.cli.exits import EXIT_OK
from mdmbridge.cli.output import format_option
from mdmbridge.cli.state import State
from mdmbridge.client import Client
from mdmbridge.entities import Entity
from mdmbridge.fields import FilterField, WriteField, is_enum
from mdmbridge.models import Record


def record_commands(entity: Entity) -> list[click.Command]:
    """Every command the entity's declaration allows, in the order ``--help`` lists them."""
    commands = [list_command(entity), get_command(entity)]
    if entity.fields_for("create"):
        commands.append(create_command(entity))
    if entity.fields_for("update"):
        commands.append(update_command(entity))
    if entity.delete is not None:
        commands.append(delete_command(entity))
    return commands


def option_type(field: WriteField) -> Any:
    """Enums are a choice of their known values; integers keep their lower bound."""
    if is_enum(field.type):
        return click.Choice([m.value for m in field.type if m.name != "UNKNOWN"])
    if field.type is int:
        return int if field.write.min is None else click.IntRange(min=field.write.min)
    return str


def filter_option(field: FilterField, help: str | None = None) -> Decorator:
    return click.option(flag(field.name), field.name, default=None, help=help or field.help)


def write_option(field: WriteField, *, update: bool) -> Decorator:
    return click.option(
        flag(field.name),
        field.name,
        type=option_type(field),
        required=field.required and not update,
        help=field.update_help if update else field.help,
    )


def list_command(entity: Entity) -> click.Command:
    def run(
        state: State,
        tenant: str,
        fmt: str,
        raw: bool,
        columns: str | None,
        limit: int | None,
        no_pager: bool,
        **filters: Any,
    ) -> int:
        # A typo in --columns is exit 2 before any request.
        view = view_of(entity.model, columns=columns, limit=limit, no_pager=no_pager)
        given = {k: v for k, v in filters.items() if v is not None}
        with state.tenant(tenant).connect(read_only=True) as client:
            records = namespace(client, entity).list(**given)
            heading = f"{entity.name} in {title(client)}"
            show_records(state, entity.model, records, fmt, raw=raw, title=heading, view=view)
        return EXIT_OK

    return command(
        "list",
        f"List the tenant's {entity.name}; filters combine (all must match).",
        run,
        TENANT,
        *(filter_option(f) for f in entity.filter_fields),
        format_option(),
        RAW,
        *LISTING,
    )


def get_command(entity: Entity) -> click.Command:
    def run(state: State, tenant: str, record_id: str, fmt: str, raw: bool) -> int:
        with state.tenant(tenant).connect(read_only=True) as client:
            record = namespace(client, entity).get(record_id)
        show_record(state, record, fmt, raw=raw, single=True)
        return EXIT_OK

    return command(
        "get",
        f"Show one {entity.singular}.",
        run,
        TENANT,
        click.argument("record_id", metavar="ID"),
        format_option(),
        RAW,
    )


def create_command(entity: Entity) -> click.Command:
    verb = entity.verb
    fields = entity.fields_for("create")
    ordered = [f for f in fields if f.required] + [f for f in fields if not f.required]

    def run(state: State, tenant: str, fmt: str, raw: bool, **values: Any) -> int:
        given = {k: v for k, v in values.items() if v is not None}
        with state.tenant(tenant).connect() as client:
            action = f"{entity.singular}.{verb}"
            with audited(client, entity, action, None, given) as pending:
                record = getattr(namespace(client, entity), verb)(**given)
                pending.target = audit_target(entity, record)
        show_record(state, record, fmt, raw=raw)
        return EXIT_OK

    what = (
        f"Add an {entity.singular}, or update the one with the same package id, platform and store."
        if verb == "upsert"
        else f"Create a {entity.singular}; prints it."
    )
    options = (write_option(f, update=False) for f in ordered)
    return command(verb, what, run, TENANT, *options, format_option(), RAW)


def update_command(entity: Entity) -> click.Command:
    fields = entity.fields_for("update")
    clearable = tuple(f.name for f in fields if f.clearable)

    def clear_names(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> list[str]:
        names = [v.strip().lower().replace("-", "_") for v in value]
        for original, field_name in zip(value, names, strict=True):
            if field_name not in clearable:
                raise click.BadParameter(
                    f"{original!r}: choose from {', '.join(clearable)}", ctx=ctx, param=param
                )
        return list(dict.fromkeys(names))

    def run(
        state: State,
        tenant: str,
        record_id: str,
        clear: list[str],
        fmt: str,
        raw: bool,
        **values: Any,
    ) -> int:
        changes: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        for field_name in clear:
            if field_name in changes:
                raise click.UsageError(
                    f"{flag(field_name)} and --clear {field_name} contradict each other"
                )
            changes[field_name] = None
        with state.tenant(tenant).connect() as client:
            action = f"{entity.singular}.update"
            with audited(client, entity, action, record_id, changes) as pending:
                record = namespace(client, entity).update(record_id, **changes)
                pending.target = audit_target(entity, record)
        show_record(state, record, fmt, raw=raw)
        return EXIT_OK

    return command(
        "update",
        f"Change a {entity.singular}: only the options given are sent.",
        run,
        TENANT,
        click.argument("record_id", metavar="ID"),
        *(write_option(f, update=True) for f in fields),
        click.option(
            "--clear",
            "clear",
            multiple=True,
            metavar="FIELD",
            callback=clear_names,
            help=f"empty this field (repeatable): {', '.join(clearable)}",
        ),
        format_option(),
        RAW,
    )


def delete_command(entity: Entity) -> click.Command:
    def run(state: State, tenant: str, record_id: str, yes: bool) -> int:
        target = state.tenant(tenant)
        with target.connect() as client:
            assert entity.delete is not None
            client.require(entity.delete, entity.what("delete"))  # refuse before asking
            here = f"{entity.singular} {record_id} in tenant {where(target)}"
            confirm(f"delete {here}", yes=yes)
            with audited(client, entity, f"{entity.singular}.delete", record_id):
                namespace(client, entity).delete(record_id)
        click.echo(f"deleted {here}")
        return EXIT_OK

    return command(
        "delete",
        f"Delete a {entity.singular} (asks first; --yes to skip).",
        run,
        TENANT,
        click.argument("record_id", metavar="ID"),
        YES,
    )


def audited(
    client: Client,
    entity: Entity,
    action: str,
    record_id: str | None,
    params: dict[str, Any] | None = None,
) -> audit.Pending:
    """The audit line of one write through the CLI (opened before it is sent)."""
    return audit.audited(
        audit.resolve(None),
        tenant=client.tenant,
        vendor=client.vendor,
        action=action,
        target=audit.AuditTarget(entity.singular, record_id),
        params=params,
    )


def audit_target(entity: Entity, record: Record) -> audit.AuditTarget:
    name = getattr(record, "name", None)
    return audit.AuditTarget(entity.singular, record.id, name if isinstance(name, str) else None)
