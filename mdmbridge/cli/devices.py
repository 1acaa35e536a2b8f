"""Device commands beyond list and get: ``assign``, ``rename``, ``locations``, ``send``.

Operations, not field writes, so they are written out here rather than derived from the
registry. ``send`` takes device ids or serial numbers (``--serial``: resolved by listing,
on the server where the vendor filters by serial, else locally; an ambiguous serial is an
error naming the matches). It asks before wipe and clear-passcode, showing each device's
name, serial, user and tenant; a wipe is confirmed by typing the serial number (``--yes``
skips asking). With several devices, one failing does not stop the others, and machine
output lists every device with its ``status`` and ``error``. Every write is audited
(:mod:`mdmbridge.audit`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import click

from mdmbridge import audit
from mdmbridge.audit import AuditLog, AuditTarget
from mdmbridge.bulk.actions import COMMANDS, CommandWord, build_command, command_params
from mdmbridge.capabilities import Capability
from mdmbridge.cli.common import (
    LISTING,
    RAW,
    TENANT,
    YES,
    ConfirmationNeeded,
    command,
    show_record,
    show_records,
    view_of,
)
from mdmbridge.cli.common import title as _title
from mdmbridge.cli.common import where as _where
from mdmbridge.cli.exits import EXIT_OK, EXIT_PARTIAL
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.errors import (
    AuthError,
    ConfigError,
    MDMError,
    NotFound,
    UnsupportedOperation,
    ValidationError,
)
from mdmbridge.models import CommandKind, Device, Location

# CLI word -> (the command, the argument it takes); the words are the ones shown, too.
SEND_COMMANDS: dict[str, tuple[CommandKind, str | None]] = {
    word: (spec.kind, spec.metavar) for word, spec in COMMANDS.items()
}
RECEIPT_COLUMNS = [
    "tenant",
    "vendor",
    "device_id",
    "serial_number",
    "command",
    "status",
    "accepted_at",
    "error",
]


def device_commands() -> list[click.Command]:
    def assign(state: State, tenant: str, device_id: str, user_id: str, fmt: str, raw: bool) -> int:
        with state.tenant(tenant).connect() as client:
            target = AuditTarget("device", device_id)
            with _audited(client, "device.assign-user", target, {"user_id": user_id}) as pending:
                device = client.devices.assign_user(device_id, user_id)
                pending.target = _device_target(device)
        show_record(state, device, fmt, raw=raw)
        return EXIT_OK

    def rename(state: State, tenant: str, device_id: str, name: str, fmt: str, raw: bool) -> int:
        with state.tenant(tenant).connect() as client:
            target = AuditTarget("device", device_id)
            with _audited(client, "device.rename", target, {"name": name}) as pending:
                device = client.devices.rename(device_id, name)
                pending.target = _device_target(device)
        show_record(state, device, fmt, raw=raw)
        return EXIT_OK

    def locations(
        state: State, tenant: str, device_id: str, fmt: str, raw: bool, **listing: Any
    ) -> int:
        view = view_of(Location, **listing)
        with state.tenant(tenant).connect(read_only=True) as client:
            found = client.locations.list(device_id=device_id)
            title = f"locations of device {device_id} in {_title(client)}"
            show_records(state, Location, found, fmt, raw=raw, title=title, view=view)
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
            *LISTING,
        ),
        _send_command(),
    ]


# --------------------------------------------------------------------------- send


@dataclass
class _Chosen:
    """A device to send to, with what is known of it (for prompts and the audit line)."""

    id: str
    name: str | None = None
    serial: str | None = None
    user_id: str | None = None
    user: str | None = None

    def describe(self) -> str:
        bits = [
            f"name {self.name!r}" if self.name else "no name",
            f"serial {self.serial}" if self.serial else "no serial",
            f"user {self.user or self.user_id}" if (self.user or self.user_id) else "no user",
        ]
        return f"device {self.id} ({', '.join(bits)})"


def _send_command() -> click.Command:
    def run(
        state: State,
        tenant: str,
        words: tuple[str, ...],
        devices: tuple[str, ...],
        serials: tuple[str, ...],
        vpp: bool | None,
        yes: bool,
        fmt: str,
    ) -> int:
        device_ids, word, argument = _parse_send(words, devices, serials)
        spec = COMMANDS[word]
        params = command_params(word, argument, vpp=vpp)  # bad input: one line, exit 2
        target = state.tenant(tenant)
        with target.connect() as client:
            client.require(spec.capability, f"the {word} command")  # before anything else
            if spec.destructive and not yes and not sys.stdin.isatty():
                raise ConfirmationNeeded(
                    f"refusing to {word} without --yes (it cannot be undone; no terminal to ask)"
                )
            log = audit.resolve(None)  # an unwritable audit log stops us before any send
            chosen = [_Chosen(d) for d in device_ids] + _by_serial(client, serials)
            chosen = list({c.id: c for c in chosen}.values())  # a wipe sent twice is not harmless
            if spec.destructive and not yes:
                _ask(client, target, spec, chosen)
            failed: list[str] = []

            def receipts() -> Iterator[dict[str, Any]]:
                command_ = build_command(word, params)
                for device in chosen:
                    row = {
                        "tenant": client.tenant,
                        "vendor": client.vendor,
                        "device_id": device.id,
                        "serial_number": device.serial,
                        "command": word,
                    }
                    try:
                        with _audited(client, spec.action, _chosen_target(device), params, log):
                            receipt = client.devices.send(device.id, command_)
                    except (AuthError, ConfigError, UnsupportedOperation):
                        raise  # the same for every device: stop here
                    except MDMError as error:
                        if len(chosen) == 1:
                            raise
                        failed.append(device.id)
                        click.echo(f"mdmbridge: error: device {device.id}: {error}", err=True)
                        outcome = audit.outcome_of(error) if audit.was_sent(error) else "failed"
                        yield row | {"status": outcome, "accepted_at": None, "error": str(error)}
                        continue
                    accepted = receipt.accepted_at.isoformat().replace("+00:00", "Z")
                    yield row | {"status": "ok", "accepted_at": accepted, "error": None}

            if fmt == "table":
                for row in receipts():
                    if row["status"] != "ok":
                        continue
                    click.echo(
                        f"{row['command']} accepted for device {row['device_id']} in tenant "
                        f"{row['tenant']} ({row['vendor']}) at {row['accepted_at']}"
                    )
            else:
                emit(state.out, RECEIPT_COLUMNS, receipts(), fmt)
        if failed:
            click.echo(
                f"mdmbridge: {len(failed)} of {len(chosen)} devices failed: {', '.join(failed)}",
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
        f"with --device or --serial (repeatable). COMMAND: {commands}. wipe and "
        "clear-passcode show the device and ask first (a wipe: type its serial number; "
        "--yes to skip). With several devices, one failing does not stop the others.",
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
            "--serial",
            "serials",
            multiple=True,
            metavar="SERIAL",
            help="send to the device with this serial number (repeatable)",
        ),
        click.option(
            "--vpp/--no-vpp", default=None, help="install-app: through volume purchase (VPP)"
        ),
        YES,
        format_option(),
    )


def _parse_send(
    words: Sequence[str], devices: Sequence[str], serials: Sequence[str]
) -> tuple[list[str], str, str | None]:
    """(device ids, command word, its argument) from ``[DEVICE_ID] COMMAND [ARG]``."""
    rest = list(words)
    if not devices and not serials:
        if len(rest) < 2:
            raise ValidationError(
                "give DEVICE_ID and COMMAND (or --device DEVICE_ID / --serial SERIAL COMMAND)"
            )
        devices = [rest.pop(0)]
    word = rest.pop(0) if rest else ""
    if word not in SEND_COMMANDS:
        hint = (
            "; with --device or --serial, leave DEVICE_ID out"
            if rest and rest[0] in SEND_COMMANDS
            else ""
        )
        raise ValidationError(
            f"unknown command {word!r}: choose from {', '.join(SEND_COMMANDS)}{hint}"
        )
    metavar = SEND_COMMANDS[word][1]
    if metavar is None and rest:
        raise ValidationError(f"{word} takes no argument (got {' '.join(rest)!r})")
    if metavar is not None and len(rest) != 1:
        quote = " (quote text with spaces)" if word == "message" and rest else ""
        raise ValidationError(f"{word} takes one {metavar}{quote}")
    if any(not s.strip() for s in serials):
        raise ValidationError("--serial needs a serial number")
    unique = list(dict.fromkeys(d.strip() for d in devices))  # a wipe sent twice is not harmless
    return unique, word, rest[0] if rest else None


def _by_serial(client: Client, serials: Sequence[str]) -> list[_Chosen]:
    """The one device of each serial number; none or several is an error before sending."""
    if not serials:
        return []
    wanted = list(dict.fromkeys(s.strip() for s in serials))
    folded = {s.casefold(): s for s in wanted}
    matches: dict[str, list[Device]] = {s: [] for s in wanted}
    if "serial_number" in client.adapter.list_filters.get("devices", frozenset()):
        listings = [client.devices.list(serial_number=s) for s in wanted]
    else:  # the vendor cannot filter by serial: one listing, matched here
        listings = [client.devices.list()]
    for listing in listings:
        for device in listing:
            key = (device.serial_number or "").strip().casefold()
            if key in folded:
                matches[folded[key]].append(device)
    chosen: list[_Chosen] = []
    users = _user_names(client, {d.user_id for ds in matches.values() for d in ds if d.user_id})
    for serial, found in matches.items():
        if not found:
            raise NotFound(
                f"no device with serial number {serial!r}",
                vendor=client.vendor,
                tenant=client.tenant,
            )
        if len(found) > 1:
            listed = "; ".join(_chosen(d, users).describe() for d in found)
            raise ValidationError(
                f"serial number {serial!r} matches {len(found)} devices: {listed}; "
                "send by DEVICE_ID instead",
                vendor=client.vendor,
                tenant=client.tenant,
            )
        chosen.append(_chosen(found[0], users))
    return chosen


def _ask(client: Client, tenant: Tenant, spec: CommandWord, chosen: list[_Chosen]) -> None:
    """Show every device (name, serial, user) and ask; a wipe is confirmed by typing."""
    known = [c if c.serial or c.name else _details(client, c.id) for c in chosen]
    chosen[:] = known
    users = _user_names(client, {c.user_id for c in known if c.user_id and not c.user})
    for c in known:
        if c.user is None and c.user_id:
            c.user = users.get(c.user_id)
    verb = "clear the passcode of" if spec.kind is CommandKind.CLEAR_PASSCODE else spec.word
    which = f"device {known[0].id}" if len(known) == 1 else f"{len(known)} devices"
    click.echo(
        f"{verb[:1].upper()}{verb[1:]} {which} in tenant {_where(tenant)}? This cannot be undone.",
        err=True,
    )
    for c in known:
        click.echo(f"  {c.describe()}", err=True)
    if spec.kind is not CommandKind.WIPE:
        click.confirm("Send it?", abort=True, err=True)
        return
    if len(known) == 1:
        expected = known[0].serial or known[0].id
        what = "serial number" if known[0].serial else "device id (it has no serial number)"
    else:
        expected, what = str(len(known)), "number of devices"
    typed = click.prompt(f"Type the {what} ({expected}) to wipe", default="", err=True)
    if typed.strip().casefold() != expected.casefold():
        click.echo("that does not match: nothing was sent", err=True)
        raise click.exceptions.Abort()


def _details(client: Client, device_id: str) -> _Chosen:
    return _chosen(client.devices.get(device_id), {})


def _chosen(device: Device, users: dict[str, str]) -> _Chosen:
    return _Chosen(
        device.id,
        device.name,
        device.serial_number,
        device.user_id,
        users.get(device.user_id or ""),
    )


def _user_names(client: Client, ids: set[str]) -> dict[str, str]:
    if not ids or not client.supports(Capability.USERS_READ):
        return {}
    names: dict[str, str] = {}
    for user_id in ids:
        try:
            user = client.users.get(user_id)
        except MDMError:
            continue  # the prompt shows the id instead
        names[user_id] = user.name or user.email or user_id
    return names


def _chosen_target(device: _Chosen) -> AuditTarget:
    return AuditTarget("device", device.id, device.name, device.serial)


def _device_target(device: Device) -> AuditTarget:
    return AuditTarget("device", device.id, device.name, device.serial_number)


def _audited(
    client: Client,
    action: str,
    target: AuditTarget,
    params: dict[str, Any] | None = None,
    log: AuditLog | None = None,
) -> audit.Pending:
    return audit.audited(
        log if log is not None else audit.resolve(None),
        tenant=client.tenant,
        vendor=client.vendor,
        action=action,
        target=target,
        params=params,
    )
