"""The ezmdm adapter: groups, users, devices and their locations, with paging you can trust."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mdmbridge.adapter import Adapter, Values, Writable
from mdmbridge.capabilities import Capability
from mdmbridge.errors import MalformedResponse, NotFound
from mdmbridge.mapping import FieldTable, build
from mdmbridge.models import (
    Command,
    CommandKind,
    CommandReceipt,
    Device,
    Group,
    Location,
    Record,
    User,
)
from mdmbridge.paging import CheckedRows, Page, paginate, record_id
from mdmbridge.transport import Auth, SecretInPath
from mdmbridge.writes import GroupChanges, GroupCreate, UserChanges, UserCreate

from . import mapping as m
from . import wire
from .wire import VENDOR, EzmdmSettings, check_id

if TYPE_CHECKING:
    from mdmbridge.client import Client
    from mdmbridge.entities import Entity
    from mdmbridge.simulation import RunningSimulator

R = TypeVar("R", bound=Record)
T = TypeVar("T")
Row = tuple[Any, ...]

# export entity -> (its field table, the item it lists): the export's flat listings
_EXPORTED = {
    "groups": (m.GROUP, "group"),
    "users": (m.USER, "user"),
    "devices": (m.DEVICE, "device"),
}


class EzmdmAdapter(Adapter):
    vendor = VENDOR
    description = "ezmdm REST API v1 (API key in the URL, form-encoded writes, paged lists)"
    settings_model = EzmdmSettings
    capabilities = frozenset(
        {
            Capability.GROUPS_READ,
            Capability.GROUPS_WRITE,
            Capability.USERS_READ,
            Capability.USERS_WRITE,
            Capability.DEVICES_READ,
            Capability.DEVICES_ASSIGN_USER,
            Capability.DEVICES_RENAME,
            Capability.DEVICE_LOCATIONS,
            Capability.COMMAND_REFRESH,
        }
    )
    list_filters = {
        "groups": frozenset(),
        "users": frozenset({"group_id"}),
        "devices": frozenset({"user_id"}),
    }

    writable = {
        "groups": Writable(frozenset(m.GROUP_WRITE_KEYS), frozenset(m.GROUP_WRITE_KEYS)),
        "users": Writable(frozenset(m.USER_WRITE_KEYS), frozenset(m.USER_WRITE_KEYS)),
    }

    settings: EzmdmSettings

    response_rules = wire.RULES

    def __init__(self, settings: EzmdmSettings, *, tenant: str, read_only: bool = False) -> None:
        super().__init__(settings, tenant=tenant, read_only=read_only)
        self._key = settings.api_key.get_secret_value()

    def connection_auth(self) -> Auth:
        return SecretInPath(self._key)  # the key travels in the URL path; it is only hidden

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

        creds = pick_credentials(VENDOR, credentials, {"api_key": "ez-demo-key"})
        server = start_simulator(devices=devices, seed=seed, port=port, api_key=creds["api_key"])
        return RunningSimulator(server, {"base_url": server.base_url, **creds})

    # plumbing ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        item: str,
        item_id: str | None = None,
        *,
        params: dict[str, str | int] | None = None,
        form: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        url_path = wire.item_path(self._key, item, item_id)
        envelope: dict[str, Any] = self.http.request(
            method, url_path, params=params, form=form
        ).data
        return envelope  # the rules checked it is a successful envelope

    def _build(self, model: type[R], table: FieldTable, payload: Any) -> R:
        return build(
            model, table, payload, tenant=self.tenant, vendor=VENDOR, redact=self.http.redact
        )

    def _paged(
        self, model: type[R], table: FieldTable, item: str, owner_id: str | None, owner: str
    ) -> Iterator[R]:
        """Every item of ``GET /<item>[/<owner_id>]``, page by page, checked against total."""
        return self._pages(
            lambda entry: self._build(model, table, entry), record_id, item, owner_id, owner
        )

    def export_rows(self, client: Client, entity: Entity) -> Iterable[Row]:
        """Rows straight from the pages (``mdmbridge.typed_rows``), for the flat listings."""
        from mdmbridge.typed_rows import RowBuilder  # export only: not loaded by other commands

        found = _EXPORTED.get(entity.name)
        if found is None:  # locations: one listing per device, left to the model path
            return super().export_rows(client, entity)
        table, item = found
        rows = RowBuilder(
            entity.model,
            table,
            entity.columns,
            tenant=self.tenant,
            vendor=VENDOR,
            redact=self.http.redact,
        )
        return CheckedRows(self._pages(rows.row, rows.id_of, item, None, item), "id")

    def _pages(
        self,
        convert: Callable[[Any], T],
        key: Callable[[T], str],
        item: str,
        owner_id: str | None,
        owner: str,
    ) -> Iterator[T]:
        def fetch(page: int, limit: int) -> Page[T]:
            envelope = self._call("GET", item, owner_id, params={"limit": limit, "page": page})
            data = envelope.get("data")
            context: dict[str, Any] = {"vendor": VENDOR, "tenant": self.tenant}
            if isinstance(data, dict) and owner_id is not None:
                # One id, two meanings: an object back means the id named an item, not an owner.
                raise NotFound(f"{owner_id!r} is not a {owner} id", **context)
            if not isinstance(data, list):
                raise MalformedResponse(
                    f"{item} list: expected a list, got {type(data).__name__}", **context
                )
            return Page([convert(entry) for entry in data], wire.page_total(envelope, context))

        return paginate(
            fetch,
            limit=self.settings.page_size,
            what=f"{VENDOR}:{self.tenant} {item} list",
            key=key,  # ids are per item kind; a repeat is an IncompleteListing
            concurrency=self.settings.page_concurrency,
        )

    def _one(self, model: type[R], table: FieldTable, item: str, item_id: str) -> R:
        data = self._call("GET", item, check_id(item_id, f"{item} id")).get("data")
        if not isinstance(data, dict):
            # The same URL lists children when the id is an owner's: that is not this item.
            raise NotFound(f"{item} {item_id!r} not found", vendor=VENDOR, tenant=self.tenant)
        return self._build(model, table, data)

    def _add(self, item: str, form: dict[str, str]) -> str:
        data = self._call("PUT", item, form=form).get("data")
        if isinstance(data, bool) or not isinstance(data, (str, int)) or not str(data).strip():
            raise MalformedResponse(
                f"adding a {item}: the answer held no id", vendor=VENDOR, tenant=self.tenant
            )
        return str(data).strip()

    def _update(self, item: str, item_id: str, form: dict[str, str]) -> None:
        self._call("POST", item, check_id(item_id, f"{item} id"), form=form)

    # groups (flat) -------------------------------------------------------------------------

    def list_groups(self, filters: Values) -> Iterator[Group]:
        return self._paged(Group, m.GROUP, "group", None, "group")

    def get_group(self, group_id: str) -> Group:
        return self._one(Group, m.GROUP, "group", group_id)

    # Writes: the client has checked the values and refused every field not in
    # ``writable`` (that is, not in the mapping's key tables) before calling these.

    def create_group(self, values: GroupCreate) -> Group:
        return self.get_group(self._add("group", m.to_form(dict(values), m.GROUP_WRITE_KEYS)))

    def update_group(self, group_id: str, changes: GroupChanges) -> Group:
        check_id(group_id, "group id")
        self._update("group", group_id, m.to_form(dict(changes), m.GROUP_WRITE_KEYS))
        return self.get_group(group_id)

    # users ---------------------------------------------------------------------------------

    def list_users(self, filters: Values) -> Iterator[User]:
        group_id = filters.get("group_id")
        owner = None if group_id is None else check_id(str(group_id), "group id")
        return self._paged(User, m.USER, "user", owner, "group")

    def get_user(self, user_id: str) -> User:
        return self._one(User, m.USER, "user", user_id)

    def create_user(self, values: UserCreate) -> User:
        if "group_id" in values:
            check_id(values["group_id"], "group_id")
        return self.get_user(self._add("user", m.to_form(dict(values), m.USER_WRITE_KEYS)))

    def update_user(self, user_id: str, changes: UserChanges) -> User:
        check_id(user_id, "user id")
        self._update("user", user_id, m.to_form(dict(changes), m.USER_WRITE_KEYS))
        return self.get_user(user_id)

    # devices -------------------------------------------------------------------------------

    def list_devices(self, filters: Values) -> Iterator[Device]:
        user_id = filters.get("user_id")
        owner = None if user_id is None else check_id(str(user_id), "user id")
        return self._paged(Device, m.DEVICE, "device", owner, "user")

    def get_device(self, device_id: str) -> Device:
        return self._one(Device, m.DEVICE, "device", device_id)

    def assign_user(self, device_id: str, user_id: str) -> Device:
        self._update("device", device_id, {"userId": check_id(user_id, "user id")})
        return self.get_device(device_id)

    def rename_device(self, device_id: str, name: str) -> Device:
        self._update("device", device_id, {"name": name})
        return self.get_device(device_id)

    def send_command(self, device_id: str, command: Command) -> CommandReceipt:
        if command.kind is not CommandKind.REFRESH:
            raise self._unsupported(f"the {command.kind.value} command")
        self._update("device", device_id, wire.push_notification_form())
        return CommandReceipt(
            tenant=self.tenant,
            vendor=VENDOR,
            device_id=device_id,
            command=command,
            accepted_at=datetime.now(UTC),
        )

    def list_locations(self, device_id: str) -> Iterator[Location]:
        owner = check_id(device_id, "device id")
        return self._paged(Location, m.LOCATION, "devicelocation", owner, "device")
