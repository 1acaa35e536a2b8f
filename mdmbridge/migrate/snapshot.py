"""One side of a migration, read whole and indexed for matching.

Migration needs both sides at once to match records (a group by its path, a user by
e-mail, a device by serial number), so unlike an export it holds them in memory: about
1 KB a record, i.e. ~20 MB for a 20,000-device tenant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields

from mdmbridge.capabilities import Capability as C
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES
from mdmbridge.models import App, Device, Group, Tag, TagLink, User


def fold(text: str | None) -> str:
    return (text or "").strip().casefold()


@dataclass
class Snapshot:
    tenant: str
    vendor: str
    capabilities: frozenset[C]
    groups: list[Group] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    device_tags: list[TagLink] = field(default_factory=list)
    user_tags: list[TagLink] = field(default_factory=list)
    group_tags: list[TagLink] = field(default_factory=list)
    apps: list[App] = field(default_factory=list)
    # Vendors whose users are in any number of groups (``Adapter.users_in_many_groups``):
    # user id -> its groups' ids, in group listing order. None: ``User.group_id`` says it.
    memberships: dict[str, list[str]] | None = None
    # entity -> why a migration only matches its records here (``migration_match_only``)
    match_only: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, client: Client) -> Snapshot:
        """Every entity the client can read, through the entity registry (name -> what
        reading it needs -> how to list it): each list field below is named after one."""
        snap = cls(client.tenant, client.vendor, client.capabilities)
        for name in (f.name for f in fields(cls) if f.name in ENTITIES):
            entity = ENTITIES[name]
            if entity.read in client.capabilities:
                setattr(snap, name, list(entity.fetch(client)))
        adapter = client.adapter
        snap.match_only = dict(adapter.migration_match_only)
        if adapter.users_in_many_groups and C.USERS_READ in client.capabilities:
            snap.memberships = {}
            for group in snap.groups:
                for user in client.users.list(group_id=group.id):
                    snap.memberships.setdefault(user.id, []).append(group.id)
        return snap

    @property
    def nested(self) -> bool:
        return C.GROUPS_NESTED in self.capabilities

    def group_by_id(self) -> dict[str, Group]:
        return {g.id: g for g in self.groups}

    def names_path(self, group: Group, separator: str, *, split_flat: bool) -> tuple[str, ...]:
        """The group's place in a tree, as names from the top."""
        if not self.nested:
            if split_flat and separator and separator in group.name:
                return tuple(part.strip() for part in group.name.split(separator))
            return (group.name,)
        by_id = self.group_by_id()
        names = [group.name]
        seen = {group.id}
        parent = group.parent_id
        while parent is not None and parent in by_id and parent not in seen:
            seen.add(parent)
            names.append(by_id[parent].name)
            parent = by_id[parent].parent_id
        return tuple(reversed(names))

    def index_groups(self, separator: str) -> dict[tuple[str, ...], list[Group]]:
        """Target side: groups by folded path (nested) or folded name (flat)."""
        index: dict[tuple[str, ...], list[Group]] = defaultdict(list)
        for group in self.groups:
            index[
                tuple(fold(p) for p in self.names_path(group, separator, split_flat=False))
            ].append(group)
        return index

    def index_users(self) -> tuple[dict[str, list[User]], dict[str, list[User]]]:
        by_email: dict[str, list[User]] = defaultdict(list)
        by_account: dict[str, list[User]] = defaultdict(list)
        for user in self.users:
            if user.email:
                by_email[fold(user.email)].append(user)
            if user.account:
                by_account[fold(user.account)].append(user)
        return by_email, by_account

    def index_devices(self) -> dict[str, list[Device]]:
        by_serial: dict[str, list[Device]] = defaultdict(list)
        for device in self.devices:
            if device.serial_number:
                by_serial[fold(device.serial_number)].append(device)
        return by_serial
