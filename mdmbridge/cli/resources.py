"""Resource commands over one tenant: ``devices|users|groups|tags|apps list|get|create|...``.

Thin over :class:`mdmbridge.Client`: click parses, the library validates and refuses (an
``UnsupportedOperation`` before any request), and ``main()`` turns every ``MDMError`` into
one line and an exit code. Destructive actions (wipe, clear-passcode, delete) ask first, or
need ``--yes``; without a terminal to ask, they are refused as a usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import click

from mdmbridge.capabilities import COMMAND_CAPABILITY, Capability
from mdmbridge.cli.exits import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from mdmbridge.cli.output import emit, format_option, record_rows
from mdmbridge.cli.state import State
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.errors import AuthError, ConfigError, MDMError, UnsupportedOperation
from mdmbridge.export.schema import columns_of
from mdmbridge.models import (
    App,
    AppStore,
    CommandKind,
    CommandReceipt,
    Device,
    Group,
    Location,
    Platform,
    Record,
    Tag,
    TagLink,
    User,
)

Decorator = Callable[[Any], Any]


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Field:
    """One click option named after, and passed as, one keyword argument of the client."""

    name: str
    help: str
    type: Any = str
    required: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def option(self, *, required: bool | None = None) -> Decorator:
        return click.option(
            self.flag,
            self.name,
            type=self.type,
            required=self.required if required is None else required,
            help=self.help,
        )


@dataclass(frozen=True)
class Resource:
    """A client namespace (``client.groups``) and the commands the CLI builds over it."""

    name: str  # the CLI group and the client attribute
    singular: str
    model: type[Record]
    help: str
    filters: tuple[Field, ...] = ()
    create: tuple[Field, ...] = ()  # empty: no create command
    update: tuple[Field, ...] = ()  # empty: no update command
    clearable: tuple[str, ...] = ()  # update fields that --clear sets to None
    delete: tuple[Capability, str] | None = None  # checked before asking for confirmation


_LOST_MODE = (
    Field("lost_mode_message", "lost-mode message shown on the group's devices"),
    Field("lost_mode_phone_number", "lost-mode phone number"),
    Field("lost_mode_footnote", "lost-mode footnote"),
)
_GROUP_FIELDS = (
    Field("number", "the group's number"),
    Field("notes", "free-text notes"),
    *_LOST_MODE,
)
_USER_DETAILS = (
    Field("company", "company"),
    Field("office", "office"),
    Field("department", "department"),
    Field("position", "position / title"),
)
_PLATFORMS = click.Choice([p.value for p in Platform if p is not Platform.UNKNOWN])
_STORES = click.Choice([s.value for s in AppStore if s is not AppStore.UNKNOWN])

GROUPS = Resource(
    "groups",
    "group",
    Group,
    "Groups of one tenant: list, get, create, update, delete.",
    filters=(
        Field("number", "only the group with this number"),
        Field("path", 'only the group at this path of names ("A/B" or "A\\B")'),
    ),
    create=(
        Field("name", "the group's name", required=True),
        Field("parent_id", "the parent group's id (nested groups)"),
        *_GROUP_FIELDS,
    ),
    update=(Field("name", "new name"), *_GROUP_FIELDS),
    clearable=("number", "notes", *(f.name for f in _LOST_MODE)),
    delete=(Capability.GROUPS_DELETE, "deleting groups"),
)
USERS = Resource(
    "users",
    "user",
    User,
    "Users of one tenant: list, get, create, update, delete.",
    filters=(
        Field("email", "only users with this e-mail address"),
        Field("phone", "only users with this phone number"),
        Field("account", "only users with this account name"),
        Field("group_id", "only users in this group (id)"),
        Field("tag_id", "only users with this tag (id)"),
    ),
    create=(
        Field("name", "the user's name", required=True),
        Field("email", "e-mail address"),
        Field("phone", "phone number"),
        Field("account", "account name"),
        Field("account_group", "account group (directory domain)"),
        Field("group_id", "the user's group (id)"),
        *_USER_DETAILS,
    ),
    update=(
        Field("name", "new name"),
        Field("email", "e-mail address"),
        Field("phone", "phone number"),
        Field("group_id", "move the user to this group (id)"),
        *_USER_DETAILS,
    ),
    clearable=("email", "phone", "company", "office", "department", "position"),
    delete=(Capability.USERS_DELETE, "deleting users"),
)
DEVICES = Resource(
    "devices",
    "device",
    Device,
    "Devices of one tenant: list, get, assign, rename, locations, send commands.",
    filters=(
        Field("serial_number", "only the device with this serial number"),
        Field("group_id", "only devices in this group (id)"),
        Field("user_id", "only devices of this user (id)"),
        Field("account", "only devices with this account name"),
        Field("tag_id", "only devices with this tag (id)"),
    ),
)
TAGS = Resource(
    "tags",
    "tag",
    Tag,
    "Tags of one tenant, and their links to devices, users and groups.",
    create=(
        Field("name", "the tag's name", required=True),
        Field("description", "description"),
        Field("group_id", "the group the tag belongs to (id)"),
    ),
    update=(
        Field("name", "new name"),
        Field("description", "description"),
        Field("group_id", "the group the tag belongs to (id)"),
    ),
    clearable=("description", "group_id"),
    delete=(Capability.TAGS_DELETE, "deleting tags"),
)
APPS = Resource(
    "apps",
    "app",
    App,
    "Apps of one tenant: list, get, upsert (add, or update the same package).",
    create=(
        Field("name", "the app's name", required=True),
        Field("company", "publisher", required=True),
        Field("package_id", "bundle / package id", required=True),
        Field("version_text", "version as shown", required=True),
        Field("platform", "platform", type=_PLATFORMS, required=True),
        Field("size", "size in bytes", type=click.IntRange(min=0), required=True),
        Field("store", "where it is installed from", type=_STORES, required=True),
        Field("store_id", "the store's id (or URL for in-house apps)", required=True),
        Field("description", "description"),
        Field("version_number", "version as a number", type=int),
        Field("image_url", "icon URL"),
        Field("image_data", "icon as base64"),
    ),
)
RESOURCES = (DEVICES, USERS, GROUPS, TAGS, APPS)


# --------------------------------------------------------------------------- building


def add_resource_commands(cli: click.Group) -> None:
    """Add ``devices``, ``users``, ``groups``, ``tags`` and ``apps`` to ``cli``."""
    for resource in RESOURCES:
        group = click.Group(resource.name, help=resource.help)
        group.add_command(_list_command(resource))
        group.add_command(_get_command(resource))
        if resource is APPS:
            group.add_command(_create_command(resource, "upsert"))
        elif resource.create:
            group.add_command(_create_command(resource, "create"))
        if resource.update:
            group.add_command(_update_command(resource))
        if resource.delete is not None:
            group.add_command(_delete_command(resource))
        if resource is DEVICES:
            for command in _device_commands():
                group.add_command(command)
        if resource is TAGS:
            for command in _tag_link_commands():
                group.add_command(command)
        cli.add_command(group)


def _command(name: str, help: str, run: Callable[..., int], *params: Decorator) -> click.Command:
    """A click command calling ``run(state, **params)``; ``params`` in display order."""
    function: Any = click.pass_obj(run)
    for decorate in reversed(params):
        function = decorate(function)
    command: click.Command = click.command(name, help=help)(function)
    return command


TENANT = click.argument("tenant")
RAW = click.option("--raw", is_flag=True, help="include the vendor's payload (raw column)")
YES = click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")


def _list_command(resource: Resource) -> click.Command:
    def run(state: State, tenant: str, fmt: str, raw: bool, **filters: Any) -> int:
        given = {k: v for k, v in filters.items() if v is not None}
        with _tenant(state, tenant).connect(read_only=True) as client:
            records = _namespace(client, resource).list(**given)
            title = f"{resource.name} in {_title(client)}"
            _show_records(state, resource.model, records, fmt, raw=raw, title=title)
        return EXIT_OK

    return _command(
        "list",
        f"List the tenant's {resource.name}; filters combine (all must match).",
        run,
        TENANT,
        *(f.option(required=False) for f in resource.filters),
        format_option(),
        RAW,
    )


def _get_command(resource: Resource) -> click.Command:
    def run(state: State, tenant: str, record_id: str, fmt: str, raw: bool) -> int:
        with _tenant(state, tenant).connect(read_only=True) as client:
            record = _namespace(client, resource).get(record_id)
        _show_record(state, record, fmt, raw=raw)
        return EXIT_OK

    return _command(
        "get",
        f"Show one {resource.singular}.",
        run,
        TENANT,
        click.argument("record_id", metavar="ID"),
        format_option(),
        RAW,
    )


def _create_command(resource: Resource, name: str) -> click.Command:
    def run(state: State, tenant: str, fmt: str, raw: bool, **values: Any) -> int:
        given = {k: v for k, v in values.items() if v is not None}
        with _tenant(state, tenant).connect() as client:
            namespace = _namespace(client, resource)
            record = namespace.upsert(**given) if name == "upsert" else namespace.create(**given)
        _show_record(state, record, fmt, raw=raw)
        return EXIT_OK

    what = (
        "Add an app, or update the one with the same package id, platform and store."
        if name == "upsert"
        else f"Create a {resource.singular}; prints it."
    )
    return _command(
        name, what, run, TENANT, *(f.option() for f in resource.create), format_option(), RAW
    )


def _update_command(resource: Resource) -> click.Command:
    clearable = resource.clearable

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
                flag = "--" + field_name.replace("_", "-")
                raise click.UsageError(f"{flag} and --clear {field_name} contradict each other")
            changes[field_name] = None
        with _tenant(state, tenant).connect() as client:
            record = _namespace(client, resource).update(record_id, **changes)
        _show_record(state, record, fmt, raw=raw)
        return EXIT_OK

    return _command(
        "update",
        f"Change a {resource.singular}: only the options given are sent.",
        run,
        TENANT,
        click.argument("record_id", metavar="ID"),
        *(f.option(required=False) for f in resource.update),
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


def _delete_command(resource: Resource) -> click.Command:
    assert resource.delete is not None
    capability, what = resource.delete

    def run(state: State, tenant: str, record_id: str, yes: bool) -> int:
        target = _tenant(state, tenant)
        with target.connect() as client:
            client.require(capability, what)  # refuse before asking
            where = f"{resource.singular} {record_id} in tenant {_where(target)}"
            _confirm(f"delete {where}", yes=yes)
            _namespace(client, resource).delete(record_id)
        click.echo(f"deleted {where}")
        return EXIT_OK

    return _command(
        "delete",
        f"Delete a {resource.singular} (asks first; --yes to skip).",
        run,
        TENANT,
        click.argument("record_id", metavar="ID"),
        YES,
    )


# --------------------------------------------------------------------------- devices


# CLI word -> (the command, the argument it takes)
SEND_COMMANDS: dict[str, tuple[CommandKind, str | None]] = {
    "lock": (CommandKind.LOCK, None),
    "wipe": (CommandKind.WIPE, None),
    "clear-passcode": (CommandKind.CLEAR_PASSCODE, None),
    "refresh": (CommandKind.REFRESH, None),
    "message": (CommandKind.SEND_MESSAGE, "TEXT"),
    "install-app": (CommandKind.INSTALL_APP, "APP_ID"),
    "remove-app": (CommandKind.REMOVE_APP, "IDENTIFIER"),
}
RECEIPT_COLUMNS = ["tenant", "vendor", "device_id", "command", "accepted_at"]


def _device_commands() -> list[click.Command]:
    def assign(state: State, tenant: str, device_id: str, user_id: str, fmt: str, raw: bool) -> int:
        with _tenant(state, tenant).connect() as client:
            device = client.devices.assign_user(device_id, user_id)
        _show_record(state, device, fmt, raw=raw)
        return EXIT_OK

    def rename(state: State, tenant: str, device_id: str, name: str, fmt: str, raw: bool) -> int:
        with _tenant(state, tenant).connect() as client:
            device = client.devices.rename(device_id, name)
        _show_record(state, device, fmt, raw=raw)
        return EXIT_OK

    def locations(state: State, tenant: str, device_id: str, fmt: str, raw: bool) -> int:
        with _tenant(state, tenant).connect(read_only=True) as client:
            found = client.locations.list(device_id=device_id)
            title = f"locations of device {device_id} in {_title(client)}"
            _show_records(state, Location, found, fmt, raw=raw, title=title)
        return EXIT_OK

    return [
        _command(
            "assign",
            "Link a device to a user; prints the device.",
            assign,
            TENANT,
            click.argument("device_id"),
            click.argument("user_id"),
            format_option(),
            RAW,
        ),
        _command(
            "rename",
            "Rename a device; prints it.",
            rename,
            TENANT,
            click.argument("device_id"),
            click.argument("name"),
            format_option(),
            RAW,
        ),
        _command(
            "locations",
            "A device's reported locations.",
            locations,
            TENANT,
            click.argument("device_id"),
            format_option(),
            RAW,
        ),
        _send_command(),
    ]


def _send_command() -> click.Command:
    def run(
        state: State,
        tenant: str,
        words: tuple[str, ...],
        devices: tuple[str, ...],
        vpp: bool | None,
        yes: bool,
        fmt: str,
    ) -> int:
        device_ids, word, argument = _parse_send(words, devices)
        kind = SEND_COMMANDS[word][0]
        if vpp is not None and kind is not CommandKind.INSTALL_APP:
            raise click.UsageError("--vpp/--no-vpp belong to install-app")
        target = _tenant(state, tenant)
        with target.connect() as client:
            client.require(COMMAND_CAPABILITY[kind], f"the {kind.value} command")
            if kind.destructive:
                which = (
                    f"device {device_ids[0]}"
                    if len(device_ids) == 1
                    else f"{len(device_ids)} devices ({', '.join(device_ids)})"
                )
                verb = "clear the passcode of" if kind is CommandKind.CLEAR_PASSCODE else word
                _confirm(f"{verb} {which} in tenant {_where(target)}", yes=yes)
            failed: list[str] = []

            def receipts() -> Iterator[dict[str, Any]]:
                for device_id in device_ids:
                    try:
                        receipt = _send(client, device_id, kind, argument, vpp)
                    except (AuthError, ConfigError, UnsupportedOperation):
                        raise  # the same for every device: stop here
                    except MDMError as error:
                        if len(device_ids) == 1:
                            raise
                        failed.append(device_id)
                        click.echo(f"mdmbridge: error: device {device_id}: {error}", err=True)
                        continue
                    yield _receipt_row(receipt)

            if fmt == "table":
                for row in receipts():
                    click.echo(
                        f"{row['command']} accepted for device {row['device_id']} in tenant "
                        f"{row['tenant']} ({row['vendor']}) at {row['accepted_at']}"
                    )
            else:
                emit(state.out, RECEIPT_COLUMNS, receipts(), fmt)
        if failed:
            click.echo(
                f"mdmbridge: {len(failed)} of {len(device_ids)} devices failed: "
                f"{', '.join(failed)}",
                err=True,
            )
            return EXIT_PARTIAL
        return EXIT_OK

    commands = " | ".join(
        word if metavar is None else f"{word} {metavar}"
        for word, (_, metavar) in SEND_COMMANDS.items()
    )
    return _command(
        "send",
        "Send a command to a device: TENANT DEVICE_ID COMMAND [ARG], or TENANT COMMAND [ARG] "
        f"with --device (repeatable). COMMAND: {commands}. wipe and clear-passcode ask first "
        "(--yes to skip). With several devices, one failing does not stop the others.",
        run,
        TENANT,
        click.argument("words", nargs=-1, required=True, metavar="[DEVICE_ID] COMMAND [ARG]"),
        click.option(
            "--device",
            "devices",
            multiple=True,
            metavar="DEVICE_ID",
            help="send to this device (repeatable) instead of DEVICE_ID",
        ),
        click.option(
            "--vpp/--no-vpp", default=None, help="install-app: through volume purchase (VPP)"
        ),
        YES,
        format_option(),
    )


def _parse_send(words: Sequence[str], devices: Sequence[str]) -> tuple[list[str], str, str | None]:
    """(device ids, command word, its argument) from ``[DEVICE_ID] COMMAND [ARG]``."""
    rest = list(words)
    if not devices:
        if len(rest) < 2:
            raise click.UsageError("give DEVICE_ID and COMMAND (or --device DEVICE_ID COMMAND)")
        devices = [rest.pop(0)]
    word = rest.pop(0) if rest else ""
    if word not in SEND_COMMANDS:
        hint = "; with --device, leave DEVICE_ID out" if rest and rest[0] in SEND_COMMANDS else ""
        raise click.UsageError(
            f"unknown command {word!r}: choose from {', '.join(SEND_COMMANDS)}{hint}"
        )
    metavar = SEND_COMMANDS[word][1]
    if metavar is None and rest:
        raise click.UsageError(f"{word} takes no argument (got {' '.join(rest)!r})")
    if metavar is not None and len(rest) != 1:
        quote = " (quote text with spaces)" if word == "message" and rest else ""
        raise click.UsageError(f"{word} takes one {metavar}{quote}")
    unique = list(dict.fromkeys(d.strip() for d in devices))  # a wipe sent twice is not harmless
    return unique, word, rest[0] if rest else None


def _send(
    client: Client, device_id: str, kind: CommandKind, argument: str | None, vpp: bool | None
) -> CommandReceipt:
    devices = client.devices
    if kind is CommandKind.SEND_MESSAGE:
        return devices.send_message(device_id, argument or "")
    if kind is CommandKind.INSTALL_APP:
        return devices.install_app(device_id, argument or "", vpp=vpp)
    if kind is CommandKind.REMOVE_APP:
        return devices.remove_app(device_id, argument or "")
    simple: dict[CommandKind, Callable[[str], CommandReceipt]] = {
        CommandKind.LOCK: devices.lock,
        CommandKind.WIPE: devices.wipe,
        CommandKind.CLEAR_PASSCODE: devices.clear_passcode,
        CommandKind.REFRESH: devices.refresh,
    }
    return simple[kind](device_id)


def _receipt_row(receipt: CommandReceipt) -> dict[str, Any]:
    return {
        "tenant": receipt.tenant,
        "vendor": receipt.vendor,
        "device_id": receipt.device_id,
        "command": receipt.command.kind.value,
        "accepted_at": receipt.accepted_at.isoformat().replace("+00:00", "Z"),
    }


# --------------------------------------------------------------------------- tag links


# link target -> (client attribute, the filters its list takes)
LINK_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "device": ("device_tags", ("device_id", "serial_number")),
    "user": ("user_tags", ("user_id", "email")),
    "group": ("group_tags", ()),
}
_TARGET = click.argument("target", type=click.Choice(list(LINK_TARGETS)))


def _tag_link_commands() -> list[click.Command]:
    def link(
        state: State,
        tenant: str,
        device_id: str | None,
        user_id: str | None,
        group_id: str | None,
        tag_id: str,
        fmt: str,
        raw: bool,
    ) -> int:
        given = {
            k: v
            for k, v in (("device", device_id), ("user", user_id), ("group", group_id))
            if v is not None
        }
        if len(given) != 1:
            raise click.UsageError("give exactly one of --device-id, --user-id, --group-id")
        ((target, target_id),) = given.items()
        with _tenant(state, tenant).connect() as client:
            namespace = getattr(client, LINK_TARGETS[target][0])
            record = namespace.link(**{f"{target}_id": target_id, "tag_id": tag_id})
        _show_record(state, record, fmt, raw=raw)
        return EXIT_OK

    def unlink(state: State, tenant: str, target: str, link_id: str) -> int:
        where = _tenant(state, tenant)
        with where.connect() as client:
            getattr(client, LINK_TARGETS[target][0]).unlink(link_id)
        click.echo(f"unlinked {target} tag link {link_id} in tenant {_where(where)}")
        return EXIT_OK

    def links(state: State, tenant: str, target: str, fmt: str, raw: bool, **filters: Any) -> int:
        attribute, allowed = LINK_TARGETS[target]
        given = {k: v for k, v in filters.items() if v is not None}
        for name in given:
            if name not in allowed:
                flag = "--" + name.replace("_", "-")
                raise click.UsageError(f"{flag} filters {_owner(name)} links, not {target} links")
        with _tenant(state, tenant).connect(read_only=True) as client:
            found = getattr(client, attribute).list(**given)
            title = f"{target} tag links in {_title(client)}"
            _show_records(state, TagLink, found, fmt, raw=raw, title=title)
        return EXIT_OK

    return [
        _command(
            "link",
            "Link a tag to one device, user or group; prints the link.",
            link,
            TENANT,
            click.option("--device-id", default=None, help="the device to tag"),
            click.option("--user-id", default=None, help="the user to tag"),
            click.option("--group-id", default=None, help="the group to tag"),
            click.option("--tag-id", required=True, help="the tag"),
            format_option(),
            RAW,
        ),
        _command(
            "unlink",
            "Remove a tag link, by the link's own id (as `tags links` shows it).",
            unlink,
            TENANT,
            _TARGET,
            click.argument("link_id"),
        ),
        _command(
            "links",
            "List tag links of devices, users or groups.",
            links,
            TENANT,
            _TARGET,
            click.option("--device-id", default=None, help="device links: of this device"),
            click.option("--serial-number", default=None, help="device links: by serial"),
            click.option("--user-id", default=None, help="user links: of this user"),
            click.option("--email", default=None, help="user links: by the user's e-mail"),
            format_option(),
            RAW,
        ),
    ]


def _owner(filter_name: str) -> str:
    return next(t for t, (_, allowed) in LINK_TARGETS.items() if filter_name in allowed)


# --------------------------------------------------------------------------- shared


def _tenant(state: State, name: str) -> Tenant:
    return state.tenant(name)


def _namespace(client: Client, resource: Resource) -> Any:
    return getattr(client, resource.name)


def _where(tenant: Tenant) -> str:
    return f"{tenant.name} ({tenant.vendor})"


def _title(client: Client) -> str:
    return f"{client.tenant} ({client.vendor})"


class ConfirmationNeeded(click.ClickException):
    """A destructive action, no ``--yes`` and no terminal to ask: a usage error, one line."""

    exit_code = EXIT_USAGE


def _confirm(action: str, *, yes: bool) -> None:
    """Ask before something that cannot be undone; without a terminal, refuse (exit 2)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationNeeded(
            f"refusing to {action} without --yes (it cannot be undone; no terminal to ask)"
        )
    click.confirm(f"{action[:1].upper()}{action[1:]}? This cannot be undone.", abort=True, err=True)


def _show_records(
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


def _show_record(state: State, record: Record, fmt: str, *, raw: bool) -> None:
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
