"""The DuoSTATION adapter: the whole documented API behind the core interface."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from mdmbridge.adapter import Values, Writable
from mdmbridge.capabilities import Capability
from mdmbridge.errors import NotFound, ValidationError
from mdmbridge.mapping import FieldTable, build
from mdmbridge.models import (
    App,
    Device,
    Group,
    Record,
    Tag,
    TagLink,
    TagTarget,
    User,
)
from mdmbridge.paging import CheckedRows, single_page, unique
from mdmbridge.transport import Auth, BasicAuth
from mdmbridge.transport.rules import ParserRules

from . import mapping as m
from . import wire
from .links import LINKS
from .wire import VENDOR, DuoStationSettings, device_guid, int_id
from .writes import DuoStationWrites

if TYPE_CHECKING:
    from mdmbridge.client import Client
    from mdmbridge.entities import Entity
    from mdmbridge.simulation import RunningSimulator

R = TypeVar("R", bound=Record)

_LINKS = LINKS  # target -> (resource, field table, body key of the target id)
# export entity -> (its field table, its resource); links go by target, groups by models
_EXPORTED = {
    "users": (m.USER, "users"),
    "devices": (m.DEVICE, "devices"),
    "tags": (m.TAG, "tags"),
    "apps": (m.APP, "apps"),
}
_LINK_FILTERS: dict[TagTarget, dict[str, str]] = {
    TagTarget.DEVICE: m.DEVICE_TAG_FILTERS,
    TagTarget.USER: m.USER_TAG_FILTERS,
    TagTarget.GROUP: {},
}


class DuoStationAdapter(DuoStationWrites):
    """Reads here, writes in ``writes.py`` (:class:`DuoStationWrites`)."""

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

    def export_rows(self, client: Client, entity: Entity) -> Iterable[tuple[Any, ...]]:
        """Rows straight from the streamed array (``mdmbridge.typed_rows``), checked for
        repeated ids as ``_stream`` checks the models. Groups keep the model path: their
        missing paths are filled in from the whole listing (``_with_paths``)."""
        from mdmbridge.typed_rows import RowBuilder  # export only: not loaded by other commands

        if entity.target is not None:
            resource, table, _ = _LINKS[entity.target]
            extra: dict[str, Any] | None = {"target": entity.target}
        elif entity.name in _EXPORTED:
            (table, resource), extra = _EXPORTED[entity.name], None
        else:
            return super().export_rows(client, entity)
        rows = RowBuilder(
            entity.model,
            table,
            entity.columns,
            tenant=self.tenant,
            vendor=VENDOR,
            extra=extra,
            redact=self.http.redact,
        )
        items = self.http.stream_array(wire.path(resource))
        return CheckedRows(
            unique(rows.rows(items), what=self._what(resource), key=rows.id_of), "id"
        )

    def _one(self, model: type[R], table: FieldTable, resource: str, item_id: str | int) -> R:
        return self._build(model, table, self._get(resource, item_id))

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

    # tags ----------------------------------------------------------------------------------

    def list_tags(self, filters: Values) -> Iterator[Tag]:
        return self._stream(Tag, m.TAG, "tags", {})

    def get_tag(self, tag_id: str) -> Tag:
        return self._one(Tag, m.TAG, "tags", int_id(tag_id, "tag id"))

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

    # apps ----------------------------------------------------------------------------------

    def list_apps(self, filters: Values) -> Iterator[App]:
        return self._stream(App, m.APP, "apps", {})

    def get_app(self, app_id: str) -> App:
        return self._one(App, m.APP, "apps", int_id(app_id, "app id"))


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
