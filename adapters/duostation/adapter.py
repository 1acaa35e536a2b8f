"""The DuoSTATION adapter: the whole documented API behind the core interface."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mdmbridge.adapter import Adapter, Values, Writable
from mdmbridge.capabilities import Capability
from mdmbridge.errors import NotFound, ValidationError
from mdmbridge.mapping import FieldTable, build
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
from mdmbridge.paging import single_page, unique
from mdmbridge.transport import Auth, BasicAuth
from mdmbridge.transport.rules import ParserRules
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
from .wire import VENDOR, DuoStationSettings, device_guid, int_id

if TYPE_CHECKING:
    from mdmbridge.simulation import RunningSimulator

R = TypeVar("R", bound=Record)

_LINKS: dict[TagTarget, tuple[str, FieldTable, str]] = {
    # target -> (resource, field table, body key of the target id)
    TagTarget.DEVICE: ("devicetags", m.DEVICE_TAG, "deviceId"),
    TagTarget.USER: ("usertags", m.USER_TAG, "userId"),
    TagTarget.GROUP: ("grouptags", m.GROUP_TAG, "groupId"),
}
_LINK_FILTERS: dict[TagTarget, dict[str, str]] = {
    TagTarget.DEVICE: m.DEVICE_TAG_FILTERS,
    TagTarget.USER: m.USER_TAG_FILTERS,
    TagTarget.GROUP: {},
}


class DuoStationAdapter(Adapter):
    vendor = VENDOR
    description = "DuoSTATION MDM REST API 4.8.49 (Basic Auth, JSON, full API)"
    settings_model = DuoStationSettings
    capabilities = frozenset(
        {
            Capability.GROUPS_READ,
            Capability.GROUPS_WRITE,
            Capability.GROUPS_DELETE,
            Capability.GROUPS_NESTED,
            Capability.USERS_READ,
            Capability.USERS_WRITE,
            Capability.USERS_DELETE,
            Capability.DEVICES_READ,
            Capability.DEVICES_ASSIGN_USER,
            Capability.TAGS_READ,
            Capability.TAGS_WRITE,
            Capability.TAGS_DELETE,
            Capability.DEVICE_TAGS,
            Capability.USER_TAGS,
            Capability.GROUP_TAGS,
            Capability.APPS_READ,
            Capability.APPS_WRITE,
            Capability.COMMAND_LOCK,
            Capability.COMMAND_WIPE,
            Capability.COMMAND_CLEAR_PASSCODE,
            Capability.COMMAND_SEND_MESSAGE,
            Capability.COMMAND_INSTALL_APP,
            Capability.COMMAND_REMOVE_APP,
            Capability.COMMAND_REFRESH,
        }
    )
    list_filters = {
        "groups": frozenset(m.GROUP_FILTERS),
        "users": frozenset(m.USER_FILTERS),
        "devices": frozenset(m.DEVICE_FILTERS),
        "device_tags": frozenset(m.DEVICE_TAG_FILTERS),
        "user_tags": frozenset(m.USER_TAG_FILTERS),
        "group_tags": frozenset(),
    }

    writable = {
        "groups": Writable(frozenset(m.GROUP_CREATE_KEYS), frozenset(m.GROUP_UPDATE_KEYS)),
        "users": Writable(frozenset(m.USER_CREATE_KEYS), frozenset(m.USER_UPDATE_KEYS)),
        "tags": Writable(frozenset(m.TAG_KEYS), frozenset(m.TAG_KEYS)),
    }

    settings: DuoStationSettings

    response_rules = ParserRules(wire.error_parser)

    def connection_auth(self) -> Auth:
        return BasicAuth(self.settings.username, self.settings.password.get_secret_value())

    @classmethod
    def start_simulator(
        cls,
        *,
        devices: int = 0,
        seed: int = 1,
        port: int = 0,
        credentials: Mapping[str, str] | None = None,
    ) -> RunningSimulator:
        from mdmbridge.simulation import RunningSimulator, pick_credentials

        from .simulator import start_simulator

        creds = pick_credentials(
            VENDOR, credentials, {"username": "api", "password": "duo-demo-password"}
        )
        server = start_simulator(devices=devices, seed=seed, port=port, **creds)
        return RunningSimulator(server, {"base_url": server.base_url, **creds})

    # plumbing ------------------------------------------------------------------------------

    def _build(self, model: type[R], table: FieldTable, payload: Any) -> R:
        return build(
            model, table, payload, tenant=self.tenant, vendor=VENDOR, redact=self.http.redact
        )

    def _get(self, *segments: str | int, params: Mapping[str, str | int] | None = None) -> Any:
        return self.http.request("GET", wire.path(*segments), params=params).data

    def _what(self, resource: str) -> str:
        return f"{VENDOR}:{self.tenant} {resource} list"

    def _stream(
        self,
        model: type[R],
        table: FieldTable,
        resource: str,
        params: dict[str, str | int],
        extra: Mapping[str, Any] | None = None,
    ) -> Iterator[R]:
        """DuoSTATION has no paging: the whole array comes in one body, read item by item,
        when iteration starts. An id the array holds twice is an ``IncompleteListing``
        (see ``paging.unique``)."""
        items = self.http.stream_array(wire.path(resource), params=params or None)
        records = (
            build(
                model,
                table,
                item,
                tenant=self.tenant,
                vendor=VENDOR,
                extra=extra,
                redact=self.http.redact,
            )
            for item in items
        )
        yield from unique(records, what=self._what(resource))

    def _one(self, model: type[R], table: FieldTable, resource: str, item_id: str | int) -> R:
        return self._build(model, table, self._get(resource, item_id))

    def _create(self, resource: str, body: dict[str, Any], what: str) -> str:
        data = self.http.request("POST", wire.path(resource), json_body=body).data
        return wire.new_id(data, what)

    def _params(
        self, filters: Values, names: dict[str, str], id_filters: dict[str, Callable[[str], Any]]
    ) -> dict[str, str | int]:
        params: dict[str, str | int] = {}
        for name, value in filters.items():
            check = id_filters.get(name)
            params[names[name]] = check(value) if check else str(value)
        return params

    # groups --------------------------------------------------------------------------------

    def list_groups(self, filters: Values) -> Iterator[Group]:
        what = self._what("groups")
        if "path" in filters:
            return single_page(
                lambda: self._group_by_path(str(filters["path"]), filters.get("number")),
                what=what,
            )
        params = self._params(filters, m.GROUP_FILTERS, {})
        return single_page(
            lambda: _with_paths(list(self._stream(Group, m.GROUP, "groups", params))),
            what=what,
        )

    def _group_by_path(self, group_path: str, number: Any) -> list[Group]:
        """``?path=`` returns one object; no match is an empty listing, several a Conflict."""
        if not group_path.replace("\\", "/").strip("/ "):
            raise ValidationError("group path is empty", vendor=VENDOR, tenant=self.tenant)
        try:
            group = self._build(Group, m.GROUP, self._get("groups", params={"path": group_path}))
        except NotFound:
            return []
        return [group] if number is None or group.number == str(number) else []

    def get_group(self, group_id: str) -> Group:
        return self._one(Group, m.GROUP, "groups", int_id(group_id, "group id"))

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

    # users ---------------------------------------------------------------------------------

    def list_users(self, filters: Values) -> Iterator[User]:
        checks = {
            "group_id": lambda v: int_id(v, "group_id"),
            "tag_id": lambda v: int_id(v, "tag_id"),
        }
        params = self._params(filters, m.USER_FILTERS, checks)
        return self._stream(User, m.USER, "users", params)

    def get_user(self, user_id: str) -> User:
        return self._one(User, m.USER, "users", int_id(user_id, "user id"))

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

    # devices -------------------------------------------------------------------------------

    def list_devices(self, filters: Values) -> Iterator[Device]:
        checks = {
            "group_id": lambda v: int_id(v, "group_id"),
            "user_id": lambda v: int_id(v, "user_id"),
            "tag_id": lambda v: int_id(v, "tag_id"),
        }
        params = self._params(filters, m.DEVICE_FILTERS, checks)
        return self._stream(Device, m.DEVICE, "devices", params)

    def get_device(self, device_id: str) -> Device:
        return self._one(Device, m.DEVICE, "devices", device_guid(device_id))

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

    # tags ----------------------------------------------------------------------------------

    def list_tags(self, filters: Values) -> Iterator[Tag]:
        return self._stream(Tag, m.TAG, "tags", {})

    def get_tag(self, tag_id: str) -> Tag:
        return self._one(Tag, m.TAG, "tags", int_id(tag_id, "tag id"))

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

    def list_tag_links(self, target: TagTarget, filters: Values) -> Iterator[TagLink]:
        resource, table, _ = _LINKS[target]
        checks = {"device_id": device_guid, "user_id": lambda v: int_id(v, "user_id")}
        params = self._params(filters, _LINK_FILTERS[target], checks)
        return self._stream(TagLink, table, resource, params, extra={"target": target})

    def _link_record(self, target: TagTarget, table: FieldTable, payload: Any) -> TagLink:
        return build(
            TagLink,
            table,
            payload,
            tenant=self.tenant,
            vendor=VENDOR,
            extra={"target": target},
            redact=self.http.redact,
        )

    def get_tag_link(self, target: TagTarget, link_id: str) -> TagLink:
        resource, table, _ = _LINKS[target]
        return self._link_record(target, table, self._get(resource, int_id(link_id, "link id")))

    def link_tag(self, target: TagTarget, target_id: str, tag_id: str) -> TagLink:
        resource, _, key = _LINKS[target]
        ref: str | int
        if target is TagTarget.DEVICE:
            ref = device_guid(target_id)
        else:  # [decision] integers, although the document's examples quote them
            ref = int_id(target_id, f"{target.value} id", allow_zero=target is TagTarget.GROUP)
        body = {key: ref, "tagId": int_id(tag_id, "tag id")}
        return self.get_tag_link(target, self._create(resource, body, f"{target.value} tag"))

    def unlink_tag(self, target: TagTarget, link_id: str) -> None:
        resource, _, _ = _LINKS[target]
        self.http.request("DELETE", wire.path(resource, int_id(link_id, "link id")))

    # apps ----------------------------------------------------------------------------------

    def list_apps(self, filters: Values) -> Iterator[App]:
        return self._stream(App, m.APP, "apps", {})

    def get_app(self, app_id: str) -> App:
        return self._one(App, m.APP, "apps", int_id(app_id, "app id"))

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


def _with_paths(groups: list[Group]) -> list[Group]:
    """Fill in ``path`` from the parent chain for groups whose payload has none."""
    if all(g.path for g in groups):
        return groups
    by_id = {g.id: g for g in groups}

    def path_of(group: Group, seen: frozenset[str] = frozenset()) -> str | None:
        if group.path:
            return group.path
        if group.parent_id is None:
            return group.name
        parent = by_id.get(group.parent_id)
        if parent is None or parent.id in seen:
            return None  # a parent we cannot see, or a cycle: leave it unknown
        parent_path = path_of(parent, seen | {group.id})
        return None if parent_path is None else f"{parent_path}/{group.name}"

    return [g if g.path else g.model_copy(update={"path": path_of(g)}) for g in groups]
