"""Resource commands over one tenant: ``devices|users|groups|tags|apps list|get|create|...``.

Thin over :class:`mdmbridge.Client`: click parses, the library validates and refuses (an
``UnsupportedOperation`` before any request), and ``main()`` turns every ``MDMError`` into
one line and an exit code. Destructive actions (wipe, clear-passcode, delete) ask first, or
need ``--yes``; without a terminal to ask, they are refused as a usage error.

The commands and their options come from the entity registry (:mod:`mdmbridge.entities`):
``cli/records.py`` builds list/get/create/update/delete for any entity, ``cli/devices.py``
and ``cli/tag_links.py`` add the operations that are not field writes.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from mdmbridge.cli.devices import device_commands
from mdmbridge.cli.records import record_commands
from mdmbridge.cli.tag_links import tag_link_commands
from mdmbridge.entities import ENTITIES

# CLI group -> (its help, the commands it has besides the entity's own)
RESOURCES: dict[str, tuple[str, Callable[[], list[click.Command]] | None]] = {
    "devices": (
        "Devices of one tenant: list, get, assign, rename, locations, send commands.",
        device_commands,
    ),
    "users": ("Users of one tenant: list, get, create, update, delete.", None),
    "groups": ("Groups of one tenant: list, get, create, update, delete.", None),
    "tags": (
        "Tags of one tenant, and their links to devices, users and groups.",
        tag_link_commands,
    ),
    "apps": ("Apps of one tenant: list, get, upsert (add, or update the same package).", None),
}


def resource_group(name: str) -> click.Group:
    """The ``devices``, ``users``, ``groups``, ``tags`` or ``apps`` group, built when that
    command is run (the root loads commands lazily)."""
    help, extra = RESOURCES[name]
    group = click.Group(name, help=help)
    for built in record_commands(ENTITIES[name]):
        group.add_command(built)
    for built in extra() if extra is not None else ():
        group.add_command(built)
    return group
