"""The public face: ``mdmbridge.connect(...)`` returns a :class:`Client`.

The client is thin on purpose: explicit keyword-only signatures, id normalisation,
capability and filter checks *before* any request, then one call into the adapter. Every
vendor decision stays in the adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar

import pydantic

from mdmbridge.adapter import Adapter, AdapterSettings
from mdmbridge.capabilities import COMMAND_CAPABILITY, Capability
from mdmbridge.errors import ConfigError, UnsupportedOperation, ValidationError
from mdmbridge.models import (
    App,
    AppStore,
    Command,
    CommandReceipt,
    Device,
    Group,
    Location,
    Platform,
    Tag,
    TagLink,
    TagTarget,
    User,
)
from mdmbridge.plugins import registered_adapters

T = TypeVar("T")


class _Unset:
    """Marks an update argument that was not given (None means "clear this field")."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()
Id = str | int


def normalise_id(value: Any, what: str) -> str:
    """Ids reach adapters as stripped, non-empty strings; the vendor checks their form."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(f"{what} must be a string or an integer, not {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ValidationError(f"{what} is empty")
    return text


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not UNSET}


def _filters(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class _Namespace:
    entity: str = ""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._adapter = client._adapter

    def _require(self, capability: Capability, what: str) -> None:
        self._client.require(capability, what)

    def _check_filters(self, filters: Mapping[str, Any]) -> dict[str, Any]:
        supported = self._adapter.list_filters.get(self.entity, frozenset())
        unsupported = sorted(set(filters) - supported)
        if unsupported:
            raise UnsupportedOperation(
                f"{self._adapter.vendor} cannot filter {self.entity} by {', '.join(unsupported)}",
                vendor=self._adapter.vendor,
                tenant=self._adapter.tenant,
            )
        out: dict[str, Any] = {}
        for name, value in filters.items():
            out[name] = normalise_id(value, name) if name.endswith("_id") else value
        return out


class Groups(_Namespace):
    entity = "groups"

    def list(self, *, number: str | None = None, path: str | None = None) -> Iterator[Group]:
        """Lazy iterator of groups; ``path`` uses "/" or "\\" between names."""
        self._require(Capability.GROUPS_READ, "listing groups")
        return self._adapter.list_groups(self._check_filters(_filters(number=number, path=path)))

    def get(self, group_id: Id) -> Group:
        self._require(Capability.GROUPS_READ, "reading a group")
        return self._adapter.get_group(normalise_id(group_id, "group id"))

    def create(
        self,
        *,
        name: str,
        parent_id: Id | None = None,
        number: str | None = None,
        notes: str | None = None,
        lost_mode_message: str | None = None,
        lost_mode_phone_number: str | None = None,
        lost_mode_footnote: str | None = None,
    ) -> Group:
        self._require(Capability.GROUPS_WRITE, "creating groups")
        if parent_id is not None:
            self._require(Capability.GROUPS_NESTED, "nested groups (parent_id)")
            parent_id = normalise_id(parent_id, "parent_id")
        values = _filters(
            name=name,
            parent_id=parent_id,
            number=number,
            notes=notes,
            lost_mode_message=lost_mode_message,
            lost_mode_phone_number=lost_mode_phone_number,
            lost_mode_footnote=lost_mode_footnote,
        )
        return self._adapter.create_group(values)

    def update(
        self,
        group_id: Id,
        *,
        name: str | _Unset = UNSET,
        number: str | _Unset | None = UNSET,
        notes: str | _Unset | None = UNSET,
        lost_mode_message: str | _Unset | None = UNSET,
        lost_mode_phone_number: str | _Unset | None = UNSET,
        lost_mode_footnote: str | _Unset | None = UNSET,
    ) -> Group:
        self._require(Capability.GROUPS_WRITE, "updating groups")
        changes = _given(
            name=name,
            number=number,
            notes=notes,
            lost_mode_message=lost_mode_message,
            lost_mode_phone_number=lost_mode_phone_number,
            lost_mode_footnote=lost_mode_footnote,
        )
        return self._adapter.update_group(normalise_id(group_id, "group id"), _nonempty(changes))

    def delete(self, group_id: Id) -> None:
        self._require(Capability.GROUPS_DELETE, "deleting groups")
        self._adapter.delete_group(normalise_id(group_id, "group id"))


class Users(_Namespace):
    entity = "users"

    def list(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        account: str | None = None,
        group_id: Id | None = None,
        tag_id: Id | None = None,
    ) -> Iterator[User]:
        """Lazy iterator of users; filters combine (all must match)."""
        self._require(Capability.USERS_READ, "listing users")
        filters = _filters(
            email=email, phone=phone, account=account, group_id=group_id, tag_id=tag_id
        )
        return self._adapter.list_users(self._check_filters(filters))

    def get(self, user_id: Id) -> User:
        self._require(Capability.USERS_READ, "reading a user")
        return self._adapter.get_user(normalise_id(user_id, "user id"))

    def create(
        self,
        *,
        name: str,
        email: str | None = None,
        phone: str | None = None,
        account: str | None = None,
        account_group: str | None = None,
        group_id: Id | None = None,
        company: str | None = None,
        office: str | None = None,
        department: str | None = None,
        position: str | None = None,
    ) -> User:
        self._require(Capability.USERS_WRITE, "creating users")
        values = _filters(
            name=name,
            email=email,
            phone=phone,
            account=account,
            account_group=account_group,
            group_id=None if group_id is None else normalise_id(group_id, "group_id"),
            company=company,
            office=office,
            department=department,
            position=position,
        )
        return self._adapter.create_user(values)

    def update(
        self,
        user_id: Id,
        *,
        name: str | _Unset = UNSET,
        email: str | _Unset | None = UNSET,
        phone: str | _Unset | None = UNSET,
        group_id: Id | _Unset = UNSET,
        company: str | _Unset | None = UNSET,
        office: str | _Unset | None = UNSET,
        department: str | _Unset | None = UNSET,
        position: str | _Unset | None = UNSET,
    ) -> User:
        self._require(Capability.USERS_WRITE, "updating users")
        changes = _given(
            name=name,
            email=email,
            phone=phone,
            company=company,
            office=office,
            department=department,
            position=position,
            group_id=group_id
            if isinstance(group_id, _Unset)
            else normalise_id(group_id, "group_id"),
        )
        return self._adapter.update_user(normalise_id(user_id, "user id"), _nonempty(changes))

    def delete(self, user_id: Id) -> None:
        self._require(Capability.USERS_DELETE, "deleting users")
        self._adapter.delete_user(normalise_id(user_id, "user id"))


class Devices(_Namespace):
    entity = "devices"

    def list(
        self,
        *,
        serial_number: str | None = None,
        group_id: Id | None = None,
        user_id: Id | None = None,
        account: str | None = None,
        tag_id: Id | None = None,
    ) -> Iterator[Device]:
        """Lazy iterator of devices; filters combine (all must match)."""
        self._require(Capability.DEVICES_READ, "listing devices")
        filters = _filters(
            serial_number=serial_number,
            group_id=group_id,
            user_id=user_id,
            account=account,
            tag_id=tag_id,
        )
        return self._adapter.list_devices(self._check_filters(filters))

    def get(self, device_id: Id) -> Device:
        self._require(Capability.DEVICES_READ, "reading a device")
        return self._adapter.get_device(normalise_id(device_id, "device id"))

    def assign_user(self, device_id: Id, user_id: Id) -> Device:
        """Link the device to a user (DuoSTATION moves it to the user's group)."""
        self._require(Capability.DEVICES_ASSIGN_USER, "assigning devices to users")
        return self._adapter.assign_user(
            normalise_id(device_id, "device id"), normalise_id(user_id, "user id")
        )

    def rename(self, device_id: Id, name: str) -> Device:
        self._require(Capability.DEVICES_RENAME, "renaming devices")
        if not name.strip():
            raise ValidationError("a device name cannot be empty")
        return self._adapter.rename_device(normalise_id(device_id, "device id"), name)

    def send(self, device_id: Id, command: Command) -> CommandReceipt:
        """Send a command. Never retried automatically: a wipe sent twice is not harmless."""
        if not isinstance(command, Command):
            raise ValidationError(f"expected a Command, got {type(command).__name__}")
        self._require(COMMAND_CAPABILITY[command.kind], f"the {command.kind.value} command")
        return self._adapter.send_command(normalise_id(device_id, "device id"), command)

    def lock(self, device_id: Id) -> CommandReceipt:
        return self.send(device_id, Command.lock())

    def wipe(self, device_id: Id) -> CommandReceipt:
        return self.send(device_id, Command.wipe())

    def clear_passcode(self, device_id: Id) -> CommandReceipt:
        return self.send(device_id, Command.clear_passcode())

    def refresh(self, device_id: Id) -> CommandReceipt:
        return self.send(device_id, Command.refresh())

    def send_message(self, device_id: Id, message: str) -> CommandReceipt:
        return self.send(device_id, _command(Command.send_message, message))

    def install_app(self, device_id: Id, app_id: Id, *, vpp: bool | None = None) -> CommandReceipt:
        return self.send(device_id, _command(lambda: Command.install_app(app_id, vpp=vpp)))

    def remove_app(self, device_id: Id, identifier: str) -> CommandReceipt:
        return self.send(device_id, _command(Command.remove_app, identifier))


def _command(factory: Callable[..., Command], *args: Any) -> Command:
    try:
        return factory(*args)
    except pydantic.ValidationError as exc:
        raise ValidationError(f"invalid command: {exc.errors()[0]['msg']}") from None


def _nonempty(changes: dict[str, Any]) -> dict[str, Any]:
    if not changes:
        raise ValidationError("nothing to update: give at least one field")
    return changes


class Locations(_Namespace):
    entity = "locations"

    def list(self, *, device_id: Id) -> Iterator[Location]:
        self._require(Capability.DEVICE_LOCATIONS, "device locations")
        return self._adapter.list_locations(normalise_id(device_id, "device id"))


class Tags(_Namespace):
    entity = "tags"

    def list(self) -> Iterator[Tag]:
        self._require(Capability.TAGS_READ, "tags")
        return self._adapter.list_tags({})

    def get(self, tag_id: Id) -> Tag:
        self._require(Capability.TAGS_READ, "tags")
        return self._adapter.get_tag(normalise_id(tag_id, "tag id"))

    def create(
        self, *, name: str, description: str | None = None, group_id: Id | None = None
    ) -> Tag:
        self._require(Capability.TAGS_WRITE, "creating tags")
        values = _filters(
            name=name,
            description=description,
            group_id=None if group_id is None else normalise_id(group_id, "group_id"),
        )
        return self._adapter.create_tag(values)

    def update(
        self,
        tag_id: Id,
        *,
        name: str | _Unset = UNSET,
        description: str | _Unset | None = UNSET,
        group_id: Id | _Unset | None = UNSET,
    ) -> Tag:
        self._require(Capability.TAGS_WRITE, "updating tags")
        if not isinstance(group_id, _Unset) and group_id is not None:
            group_id = normalise_id(group_id, "group_id")
        changes = _given(name=name, description=description, group_id=group_id)
        return self._adapter.update_tag(normalise_id(tag_id, "tag id"), _nonempty(changes))

    def delete(self, tag_id: Id) -> None:
        self._require(Capability.TAGS_DELETE, "deleting tags")
        self._adapter.delete_tag(normalise_id(tag_id, "tag id"))


class _TagLinks(_Namespace):
    target: TagTarget
    capability: Capability

    def get(self, link_id: Id) -> TagLink:
        self._require(self.capability, f"{self.target.value} tags")
        return self._adapter.get_tag_link(self.target, normalise_id(link_id, "link id"))

    def _link(self, target_id: Id, tag_id: Id) -> TagLink:
        self._require(self.capability, f"{self.target.value} tags")
        return self._adapter.link_tag(
            self.target,
            normalise_id(target_id, f"{self.target.value} id"),
            normalise_id(tag_id, "tag id"),
        )

    def unlink(self, link_id: Id) -> None:
        """Remove the link (by the link's own id, as ``list`` returns it)."""
        self._require(self.capability, f"{self.target.value} tags")
        self._adapter.unlink_tag(self.target, normalise_id(link_id, "link id"))

    def _list(self, filters: dict[str, Any]) -> Iterator[TagLink]:
        self._require(self.capability, f"{self.target.value} tags")
        return self._adapter.list_tag_links(self.target, self._check_filters(filters))


class DeviceTags(_TagLinks):
    entity = "device_tags"
    target = TagTarget.DEVICE
    capability = Capability.DEVICE_TAGS

    def list(
        self, *, device_id: Id | None = None, serial_number: str | None = None
    ) -> Iterator[TagLink]:
        return self._list(_filters(device_id=device_id, serial_number=serial_number))

    def link(self, *, device_id: Id, tag_id: Id) -> TagLink:
        return self._link(device_id, tag_id)


class UserTags(_TagLinks):
    entity = "user_tags"
    target = TagTarget.USER
    capability = Capability.USER_TAGS

    def list(self, *, user_id: Id | None = None, email: str | None = None) -> Iterator[TagLink]:
        return self._list(_filters(user_id=user_id, email=email))

    def link(self, *, user_id: Id, tag_id: Id) -> TagLink:
        return self._link(user_id, tag_id)


class GroupTags(_TagLinks):
    entity = "group_tags"
    target = TagTarget.GROUP
    capability = Capability.GROUP_TAGS

    def list(self) -> Iterator[TagLink]:
        return self._list({})

    def link(self, *, group_id: Id, tag_id: Id) -> TagLink:
        """``group_id="0"`` links the tag to "All" on DuoSTATION."""
        return self._link(group_id, tag_id)


class Apps(_Namespace):
    entity = "apps"

    def list(self) -> Iterator[App]:
        self._require(Capability.APPS_READ, "apps")
        return self._adapter.list_apps({})

    def get(self, app_id: Id) -> App:
        self._require(Capability.APPS_READ, "apps")
        return self._adapter.get_app(normalise_id(app_id, "app id"))

    def upsert(
        self,
        *,
        name: str,
        company: str,
        package_id: str,
        version_text: str,
        platform: Platform | str,
        size: int,
        store: AppStore | str,
        store_id: str,
        description: str | None = None,
        version_number: int | None = None,
        image_url: str | None = None,
        image_data: str | None = None,
    ) -> App:
        """Add the app, or update the one with the same package id, platform and store."""
        self._require(Capability.APPS_WRITE, "adding apps")
        values = _filters(
            name=name,
            company=company,
            package_id=package_id,
            version_text=version_text,
            platform=platform,
            size=size,
            store=store,
            store_id=store_id,
            description=description,
            version_number=version_number,
            image_url=image_url,
            image_data=image_data,
        )
        return self._adapter.upsert_app(values)


class Client:
    """One tenant of one vendor. Use as a context manager, or call :meth:`close`."""

    def __init__(self, adapter: Adapter) -> None:
        self._adapter = adapter
        self.groups = Groups(self)
        self.users = Users(self)
        self.devices = Devices(self)
        self.locations = Locations(self)
        self.tags = Tags(self)
        self.device_tags = DeviceTags(self)
        self.user_tags = UserTags(self)
        self.group_tags = GroupTags(self)
        self.apps = Apps(self)

    @property
    def vendor(self) -> str:
        return self._adapter.vendor

    @property
    def tenant(self) -> str:
        return self._adapter.tenant

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._adapter.capabilities

    @property
    def adapter(self) -> Adapter:
        return self._adapter

    def supports(self, capability: Capability) -> bool:
        return capability in self._adapter.capabilities

    def require(self, capability: Capability, what: str) -> None:
        if capability not in self._adapter.capabilities:
            raise UnsupportedOperation(
                f"{self.vendor} does not support {what}", vendor=self.vendor, tenant=self.tenant
            )

    def close(self) -> None:
        self._adapter.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(vendor={self.vendor!r}, tenant={self.tenant!r})"


def connect(
    vendor: str, /, *, tenant: str = "default", read_only: bool = False, **settings: Any
) -> Client:
    """Connect to one tenant of one vendor.

    ``settings`` are the adapter's own (``base_url``, ``username``, ``password`` for
    DuoSTATION; ``api_key`` for ezmdm); they are validated by the adapter's settings model,
    and an unknown or malformed one is a ``ConfigError`` naming it. ``read_only=True``
    makes the transport refuse every write before it is sent (dry runs).
    """
    adapter_class = _adapter_class(vendor, tenant)
    try:
        parsed = adapter_class.settings_model(**settings)
    except pydantic.ValidationError as exc:
        raise ConfigError(
            f"{vendor} settings: {settings_error(exc)}", vendor=vendor, tenant=tenant
        ) from None
    return Client(adapter_class(parsed, tenant=tenant, read_only=read_only))


def open_client(
    vendor: str, settings: AdapterSettings, *, tenant: str, read_only: bool = False
) -> Client:
    """Like :func:`connect`, for settings already validated (a tenants file)."""
    return Client(_adapter_class(vendor, tenant)(settings, tenant=tenant, read_only=read_only))


def _adapter_class(vendor: str, tenant: str) -> type[Adapter]:
    available = registered_adapters()
    adapter_class = available.get(vendor)
    if adapter_class is None:
        known = ", ".join(available) or "none"
        raise ConfigError(f"unknown vendor {vendor!r} (installed adapters: {known})", tenant=tenant)
    return adapter_class


def settings_error(exc: pydantic.ValidationError) -> str:
    """One line naming each bad key, never echoing a value (it may be a secret)."""
    parts = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "settings"
        reason = "unknown setting" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{key}: {reason}")
    return "; ".join(parts)
