"""The DuoSTATION adapter's writes: creates, updates (read, modify, PUT the whole record),
deletes, tag links, the user assignment and device commands. The reads, and every record
built from a payload, are in ``adapter.py``; :class:`DuoStationAdapter` is both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mdmbridge.adapter import Adapter
from mdmbridge.models import (
    App,
    Command,
    CommandKind,
    CommandReceipt,
    Device,
    Group,
    Record,
    Tag,
    TagLink,
    TagTarget,
    User,
)
from mdmbridge.writes import (
    AppUpsert,
    GroupChanges,
    GroupCreate,
    TagChanges,
    TagCreate,
    UserChanges,
    UserCreate,
)

from . import mapping as m
from . import wire
from .links import LINKS
from .wire import VENDOR, device_guid, int_id


class DuoStationWrites(Adapter):
    """Every write DuoSTATION takes; the reads they answer with are the adapter's."""

    def _create(self, resource: str, body: dict[str, Any], what: str) -> str:
        data = self.http.request("POST", wire.path(resource), json_body=body).data
        return wire.new_id(data, what)

    def create_group(self, values: GroupCreate) -> Group:
        body: dict[str, Any] = dict(values)
        wire.check_lost_mode(body)
        if "parent_id" in values:
            body["parent_id"] = int_id(values["parent_id"], "parent_id", allow_zero=True)
        new = self._create("groups", m.to_wire(body, m.GROUP_CREATE_KEYS), "group")
        return self.get_group(new)

    def update_group(self, group_id: str, changes: GroupChanges) -> Group:
        number = int_id(group_id, "group id")
        self._read_modify_write(
            "groups", number, self.get_group(group_id), m.GROUP_UPDATE_KEYS, dict(changes)
        )
        return self.get_group(group_id)

    def _read_modify_write(
        self,
        resource: str,
        number: int,
        current: Record,
        keys: dict[str, str],
        changes: dict[str, Any],
    ) -> None:
        """[decision] PUT the full set of writable fields, current values overlaid with the
        changes, so a server that treats absent keys as "clear" cannot lose data; and check
        the lost-mode rule on the result, which is what the vendor will hold."""
        merged = {name: getattr(current, name) for name in keys} | changes
        if merged.get("group_id") is not None:
            merged["group_id"] = int_id(str(merged["group_id"]), "group_id")
        wire.check_lost_mode(merged)
        self.http.request("PUT", wire.path(resource, number), json_body=m.to_wire(merged, keys))

    def delete_group(self, group_id: str) -> None:
        self.http.request("DELETE", wire.path("groups", int_id(group_id, "group id")))

    def create_user(self, values: UserCreate) -> User:
        body: dict[str, Any] = dict(values)
        if "group_id" in values:
            body["group_id"] = int_id(values["group_id"], "group_id")
        return self.get_user(self._create("users", m.to_wire(body, m.USER_CREATE_KEYS), "user"))

    def update_user(self, user_id: str, changes: UserChanges) -> User:
        number = int_id(user_id, "user id")
        checked = _local_ids(changes)
        current = self.get_user(user_id)
        self._read_modify_write("users", number, current, m.USER_UPDATE_KEYS, checked)
        return self.get_user(user_id)

    def delete_user(self, user_id: str) -> None:
        self.http.request("DELETE", wire.path("users", int_id(user_id, "user id")))

    def assign_user(self, device_id: str, user_id: str) -> Device:
        guid = device_guid(device_id)
        body = {"userId": int_id(user_id, "user id")}
        self.http.request("PUT", wire.path("devices", guid), json_body=body)
        return self.get_device(guid)

    def send_command(self, device_id: str, command: Command) -> CommandReceipt:
        guid = device_guid(device_id)
        body: dict[str, Any] | None = None
        if command.kind is CommandKind.INSTALL_APP:
            body = {"appId": int_id(command.app_id or "", "app id")}
            if command.vpp is not None:
                body["vpp"] = command.vpp
        elif command.kind is CommandKind.REMOVE_APP:
            body = {"identifier": command.identifier}
        elif command.kind is CommandKind.SEND_MESSAGE:
            body = {"message": command.message}
        endpoint = wire.COMMAND_ENDPOINTS[command.kind]
        self.http.request("POST", wire.path("devices", guid, endpoint), json_body=body)
        return CommandReceipt(
            tenant=self.tenant,
            vendor=VENDOR,
            device_id=guid,
            command=command,
            accepted_at=datetime.now(UTC),
        )

    def create_tag(self, values: TagCreate) -> Tag:
        body: dict[str, Any] = dict(values)
        if "group_id" in values:
            body["group_id"] = int_id(values["group_id"], "group_id")
        return self.get_tag(self._create("tags", m.to_wire(body, m.TAG_KEYS), "tag"))

    def update_tag(self, tag_id: str, changes: TagChanges) -> Tag:
        number = int_id(tag_id, "tag id")
        checked = _local_ids(changes)
        self._read_modify_write("tags", number, self.get_tag(tag_id), m.TAG_KEYS, checked)
        return self.get_tag(tag_id)

    def delete_tag(self, tag_id: str) -> None:
        self.http.request("DELETE", wire.path("tags", int_id(tag_id, "tag id")))

    def link_tag(self, target: TagTarget, target_id: str, tag_id: str) -> TagLink:
        resource, _, key = LINKS[target]
        ref: str | int
        if target is TagTarget.DEVICE:
            ref = device_guid(target_id)
        else:  # [decision] integers, although the document's examples quote them
            ref = int_id(target_id, f"{target.value} id", allow_zero=target is TagTarget.GROUP)
        body = {key: ref, "tagId": int_id(tag_id, "tag id")}
        return self.get_tag_link(target, self._create(resource, body, f"{target.value} tag"))

    def unlink_tag(self, target: TagTarget, link_id: str) -> None:
        resource, _, _ = LINKS[target]
        self.http.request("DELETE", wire.path(resource, int_id(link_id, "link id")))

    def upsert_app(self, values: AppUpsert) -> App:
        body = m.to_wire(wire.app_body(values), m.APP_KEYS)
        return self.get_app(self._create("apps", body, "app"))


def _local_ids(changes: UserChanges | TagChanges) -> dict[str, Any]:
    """A group id that cannot be DuoSTATION's is refused before the first request (the
    read of the current record)."""
    checked: dict[str, Any] = dict(changes)
    if checked.get("group_id") is not None:
        checked["group_id"] = int_id(str(checked["group_id"]), "group_id")
    return checked
