"""Directory lookups the routes share: a user by id or ``userPrincipalName``, any
directory object by id, and group memberships kept both ways (group -> members, member ->
groups). A mixin of :class:`~.core.SimCore`, which holds the state."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from .state import Collection, OrderedIds

Record = dict[str, Any]


def canonical_guid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


class DirectoryLookups:
    """Lookups and memberships over :class:`~.core.SimCore`'s collections."""

    lock: threading.RLock
    users: Collection
    groups: Collection
    members: dict[str, OrderedIds]
    member_of: dict[str, set[str]]
    _upn_index: dict[str, str] | None

    # ------------------------------------------------------------------ lookups

    def user_by_key(self, key: str) -> Record | None:
        """A user by id or by ``userPrincipalName`` (case-insensitive), as Graph allows."""
        guid = canonical_guid(key)
        if guid is not None:
            return self.users.get(guid)
        user_id = self.upn_index().get(key.lower())
        return None if user_id is None else self.users.get(user_id)

    def upn_index(self) -> dict[str, str]:
        """``userPrincipalName`` (lower case) -> id, built on first use (it materialises the
        seeded users once), kept current by creates, updates and deletes afterwards."""
        if self._upn_index is None:
            self._upn_index = {
                str(record["userPrincipalName"]).lower(): str(record["id"])
                for record in self.users.all()
            }
        return self._upn_index

    def directory_object(self, object_id: str) -> tuple[str, Record] | None:
        guid = canonical_guid(object_id)
        if guid is None:
            return None
        user = self.users.get(guid)
        if user is not None:
            return "user", user
        group = self.groups.get(guid)
        if group is not None:
            return "group", group
        return None

    def add_member(self, group_id: str, member_id: str) -> bool:
        ids = self.members.setdefault(group_id, OrderedIds())
        if member_id in ids:
            return False
        ids.add(member_id)
        self.member_of.setdefault(member_id, set()).add(group_id)
        return True

    def remove_member(self, group_id: str, member_id: str) -> bool:
        ids = self.members.get(group_id)
        if ids is None or not ids.remove(member_id):
            return False
        self.member_of.get(member_id, set()).discard(group_id)
        return True

    def forget_object(self, object_id: str) -> None:
        """Drop every membership held by, or in, a deleted directory object."""
        for group_id in list(self.member_of.pop(object_id, set())):
            ids = self.members.get(group_id)
            if ids is not None:
                ids.remove(object_id)
        for member_id in self.members.pop(object_id, OrderedIds()):
            self.member_of.get(member_id, set()).discard(object_id)

    # ------------------------------------------------------------------ read-only views

    def group_ids_of(self, member_id: str) -> list[str]:
        with self.lock:
            return sorted(self.member_of.get(member_id, set()))

    def member_ids(self, group_id: str) -> list[str]:
        with self.lock:
            return list(self.members.get(group_id, OrderedIds()))
