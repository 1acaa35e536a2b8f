"""What an adapter can do, declared up front.

Each adapter declares a frozenset of :class:`Capability`. The client checks it before any
request, so "ezmdm cannot wipe a device" is an ``UnsupportedOperation`` raised locally, and
``mdmbridge.adapters()`` can print a capability matrix without talking to anyone.
"""

from __future__ import annotations

import enum

from mdmbridge.models import CommandKind


class Capability(enum.StrEnum):
    GROUPS_READ = "groups.read"
    GROUPS_WRITE = "groups.write"
    GROUPS_DELETE = "groups.delete"
    GROUPS_NESTED = "groups.nested"  # groups form a tree (parent_id is meaningful)
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    USERS_DELETE = "users.delete"
    DEVICES_READ = "devices.read"
    DEVICES_ASSIGN_USER = "devices.assign_user"
    DEVICES_RENAME = "devices.rename"
    DEVICE_LOCATIONS = "devices.locations"
    TAGS_READ = "tags.read"
    TAGS_WRITE = "tags.write"
    TAGS_DELETE = "tags.delete"
    DEVICE_TAGS = "tags.devices"
    USER_TAGS = "tags.users"
    GROUP_TAGS = "tags.groups"
    APPS_READ = "apps.read"
    APPS_WRITE = "apps.write"
    COMMAND_LOCK = "command.lock"
    COMMAND_WIPE = "command.wipe"
    COMMAND_CLEAR_PASSCODE = "command.clear_passcode"
    COMMAND_SEND_MESSAGE = "command.send_message"
    COMMAND_INSTALL_APP = "command.install_app"
    COMMAND_REMOVE_APP = "command.remove_app"
    COMMAND_REFRESH = "command.refresh"


COMMAND_CAPABILITY: dict[CommandKind, Capability] = {
    CommandKind.LOCK: Capability.COMMAND_LOCK,
    CommandKind.WIPE: Capability.COMMAND_WIPE,
    CommandKind.CLEAR_PASSCODE: Capability.COMMAND_CLEAR_PASSCODE,
    CommandKind.SEND_MESSAGE: Capability.COMMAND_SEND_MESSAGE,
    CommandKind.INSTALL_APP: Capability.COMMAND_INSTALL_APP,
    CommandKind.REMOVE_APP: Capability.COMMAND_REMOVE_APP,
    CommandKind.REFRESH: Capability.COMMAND_REFRESH,
}
