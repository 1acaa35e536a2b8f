"""Device commands beyond list and get: ``assign``, ``rename``, ``locations``, ``send``.

Operations, not field writes, so they are written out here rather than derived from the
registry. ``send`` asks before wipe and clear-passcode (or needs ``--yes``); with several
devices, one failing does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click

from mdmbridge.capabilities import COMMAND_CAPABILITY
from mdmbridge.cli.common import RAW, TENANT, YES, command, confirm, show_record, show_records
from mdmbridge.cli.common import title as _title
from mdmbridge.cli.common import where as _where
from mdmbridge.cli.exits import EXIT_OK, EXIT_PARTIAL
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.client import Client
from mdmbridge.errors import AuthError, ConfigError, MDMError, UnsupportedOperation
from mdmbridge.models import CommandKind, CommandReceipt, Location

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


def device_commands() -> list[click.Command]:
    def assign(state: State, tenant: str, device_id: str, user_id: str, fmt: str, raw: bool) -> int:
        with state.tenant(tenant).connect() as client:
            device = client.devices.assign_user(device_id, user_id)
        show_record(state, device, fmt, raw=raw)
        return EXIT_OK

    def rename(state: State, tenant: str, device_id: str, name: str, fmt: str, raw: bool) -> int:
        with state.tenant(tenant).connect() as client:
            device = client.devices.rename(device_id, name)
        show_record(state, device, fmt, raw=raw)
        return EXIT_OK

    def locations(state: State, tenant: str, device_id: str, fmt: str, raw: bool) -> int:
        with state.tenant(tenant).connect(read_only=True) as client:
            found = client.locations.list(device_id=device_id)
            title = f"locations of device {device_id} in {_title(client)}"
            show_records(state, Location, found, fmt, raw=raw, title=title)
        return EXIT_OK

    return [
        command(
            "assign",
            "Link a device to a user; prints the device.",
            assign,
            TENANT,
            click.argument("device_id"),
            click.argument("user_id"),
            format_option(),
            RAW,
        ),
        command(
            "rename",
            "Rename a device; prints it.",
            rename,
            TENANT,
            click.argument("device_id"),
            click.argument("name"),
            format_option(),
            RAW,
        ),
        command(
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
        target = state.tenant(tenant)
        with target.connect() as client:
            client.require(COMMAND_CAPABILITY[kind], f"the {kind.value} command")
            if kind.destructive:
                which = (
                    f"device {device_ids[0]}"
                    if len(device_ids) == 1
                    else f"{len(device_ids)} devices ({', '.join(device_ids)})"
                )
                verb = "clear the passcode of" if kind is CommandKind.CLEAR_PASSCODE else word
                confirm(f"{verb} {which} in tenant {_where(target)}", yes=yes)
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
    return command(
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
