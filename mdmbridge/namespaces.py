"""The client's namespaces, one per entity: ``client.groups``, ``client.users``, ...

Every check is driven by the entity's registry declaration (:mod:`mdmbridge.entities`):
the capability, the filters the adapter applies, the fields and what the adapter can hold.
Then exactly one adapter call, with checked values. The keywords are typed with
``Unpack[...]`` of the registry's ``TypedDict``s (:mod:`mdmbridge.filters`,
:mod:`mdmbridge.writes`), so a caller's mypy checks them.

A list filter the adapter does not apply on the server (not in its ``list_filters``) is
applied by the client as the records stream past (:mod:`mdmbridge.local_filters`), so every
filter works on every adapter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import pydantic
from typing_extensions import Unpack

from mdmbridge import local_filters
from mdmbridge.capabilities import COMMAND_CAPABILITY, Capability
from mdmbridge.entities import ENTITIES, Entity, Operation
from mdmbridge.errors import ValidationError
from mdmbridge.fields import UNSET, Id, Mode, normalise_id
from mdmbridge.filters import (
    AppFilters,
    DeviceFilters,
    DeviceTagFilters,
    GroupFilters,
    GroupTagFilters,
    TagFilters,
    UserFilters,
    UserTagFilters,
)
from mdmbridge.models import (
    App,
    Command,
    CommandReceipt,
    Device,
    Group,
    Location,
    Tag,
    TagLink,
    TagTarget,
    User,
)
from mdmbridge.writes import (
    AppUpsert,
    AppUpsertArgs,
    GroupChanges,
    GroupCreate,
    GroupCreateArgs,
    GroupUpdateArgs,
    TagChanges,
    TagCreate,
    TagCreateArgs,
    TagUpdateArgs,
    UserChanges,
    UserCreate,
    UserCreateArgs,
    UserUpdateArgs,
)

if TYPE_CHECKING:
    from mdmbridge.client import Client

_R = TypeVar("_R")


class Namespace:
    """One entity's calls, checked as its registry declaration says."""

    entity: ClassVar[Entity]

    def __init__(self, client: Client) -> None:
        self._client = client
        self._adapter = client._adapter

    def _require(self, operation: Operation) -> None:
        entity = self.entity
        capability = {"list": entity.read, "get": entity.read, "delete": entity.delete}.get(
            operation, entity.write
        )
        assert capability is not None, f"{entity.name} has no {operation}"
        self._client.require(capability, entity.what(operation))

    def _id(self, value: Any, what: str = "") -> str:
        return normalise_id(value, what or f"{self.entity.singular} id")

    def _filters(
        self, given: Mapping[str, Any], call: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Checked filter values: (those the adapter applies on the server, the rest)."""
        self._require("list")
        known = {ff.name: ff for ff in self.entity.filter_fields}
        for name in given:
            if name not in known:
                raise TypeError(f"{call}() got an unexpected keyword argument {name!r}")
        checked = {
            name: (
                normalise_id(value, name)
                if known[name].is_id
                else local_filters.checked_value(self.entity, name, value)
            )
            for name, value in given.items()
            if value is not None
        }
        supported = self._adapter.list_filters.get(self.entity.name, frozenset())
        server = {name: value for name, value in checked.items() if name in supported}
        local = {name: value for name, value in checked.items() if name not in supported}
        return server, local

    def _listing(
        self,
        given: Mapping[str, Any],
        call: str,
        fetch: Callable[[dict[str, Any]], Iterator[_R]],
    ) -> Iterator[_R]:
        """The adapter's listing with the filters it applies; the others applied here."""
        server, local = self._filters(given, call)
        records = fetch(server)
        if not local:
            return records
        return local_filters.apply(self._client, self.entity, records, local)

    def _values(self, mode: Mode, given: Mapping[str, Any], call: str) -> dict[str, Any]:
        """Checked values for one create or update, or the reason it is refused locally."""
        self._require(mode)
        for name, (capability, what) in self.entity.needs.items():
            if given.get(name, UNSET) not in (None, UNSET):
                self._client.require(capability, what)
        values = self.entity.checker(mode).check(given, call=call)
        if mode == "update" and not values:
            raise ValidationError("nothing to update: give at least one field")
        declared = self._adapter.writable.get(self.entity.name)
        refused = [] if declared is None else sorted(set(values) - getattr(declared, mode))
        if refused:
            raise ValidationError(
                f"{self._adapter.vendor} {self.entity.name} cannot hold {', '.join(refused)}",
                vendor=self._adapter.vendor,
                tenant=self._adapter.tenant,
            )
        return values


class Groups(Namespace):
    entity = ENTITIES["groups"]

    def list(self, **filters: Unpack[GroupFilters]) -> Iterator[Group]:
        """Lazy iterator of groups; ``path`` uses "/" or "\\" between names."""
        return self._listing(filters, "groups.list", self._adapter.list_groups)

    def get(self, group_id: Id) -> Group:
        self._require("get")
        return self._adapter.get_group(self._id(group_id))

    def create(self, **values: Unpack[GroupCreateArgs]) -> Group:
        checked = self._values("create", values, "groups.create")
        return self._adapter.create_group(cast(GroupCreate, checked))

    def update(self, group_id: Id, **changes: Unpack[GroupUpdateArgs]) -> Group:
        checked = self._values("update", changes, "groups.update")
        return self._adapter.update_group(self._id(group_id), cast(GroupChanges, checked))

    def delete(self, group_id: Id) -> None:
        self._require("delete")
        self._adapter.delete_group(self._id(group_id))


class Users(Namespace):
    entity = ENTITIES["users"]

    def list(self, **filters: Unpack[UserFilters]) -> Iterator[User]:
        """Lazy iterator of users; filters combine (all must match)."""
        return self._listing(filters, "users.list", self._adapter.list_users)

    def get(self, user_id: Id) -> User:
        self._require("get")
        return self._adapter.get_user(self._id(user_id))

    def create(self, **values: Unpack[UserCreateArgs]) -> User:
        checked = self._values("create", values, "users.create")
        return self._adapter.create_user(cast(UserCreate, checked))

    def update(self, user_id: Id, **changes: Unpack[UserUpdateArgs]) -> User:
        checked = self._values("update", changes, "users.update")
        return self._adapter.update_user(self._id(user_id), cast(UserChanges, checked))

    def delete(self, user_id: Id) -> None:
        self._require("delete")
        self._adapter.delete_user(self._id(user_id))


class Devices(Namespace):
    entity = ENTITIES["devices"]

    def list(self, **filters: Unpack[DeviceFilters]) -> Iterator[Device]:
        """Lazy iterator of devices; filters combine (all must match)."""
        return self._listing(filters, "devices.list", self._adapter.list_devices)

    def get(self, device_id: Id) -> Device:
        self._require("get")
        return self._adapter.get_device(self._id(device_id))

    def assign_user(self, device_id: Id, user_id: Id) -> Device:
        """Link the device to a user (DuoSTATION moves it to the user's group)."""
        self._client.require(Capability.DEVICES_ASSIGN_USER, "assigning devices to users")
        return self._adapter.assign_user(self._id(device_id), normalise_id(user_id, "user id"))

    def rename(self, device_id: Id, name: str) -> Device:
        self._client.require(Capability.DEVICES_RENAME, "renaming devices")
        if not name.strip():
            raise ValidationError("a device name cannot be empty")
        return self._adapter.rename_device(self._id(device_id), name)

    def send(self, device_id: Id, command: Command) -> CommandReceipt:
        """Send a command. Never retried automatically: a wipe sent twice is not harmless."""
        if not isinstance(command, Command):
            raise ValidationError(f"expected a Command, got {type(command).__name__}")
        kind = command.kind
        self._client.require(COMMAND_CAPABILITY[kind], f"the {kind.value} command")
        return self._adapter.send_command(self._id(device_id), command)

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


class Locations(Namespace):
    entity = ENTITIES["locations"]

    def list(self, *, device_id: Id) -> Iterator[Location]:
        self._require("list")
        return self._adapter.list_locations(normalise_id(device_id, "device id"))


class Tags(Namespace):
    entity = ENTITIES["tags"]

    def list(self, **filters: Unpack[TagFilters]) -> Iterator[Tag]:
        return self._listing(filters, "tags.list", self._adapter.list_tags)

    def get(self, tag_id: Id) -> Tag:
        self._require("get")
        return self._adapter.get_tag(self._id(tag_id))

    def create(self, **values: Unpack[TagCreateArgs]) -> Tag:
        checked = self._values("create", values, "tags.create")
        return self._adapter.create_tag(cast(TagCreate, checked))

    def update(self, tag_id: Id, **changes: Unpack[TagUpdateArgs]) -> Tag:
        checked = self._values("update", changes, "tags.update")
        return self._adapter.update_tag(self._id(tag_id), cast(TagChanges, checked))

    def delete(self, tag_id: Id) -> None:
        self._require("delete")
        self._adapter.delete_tag(self._id(tag_id))


class _TagLinks(Namespace):
    """Links of one target kind (the entity's ``target``)."""

    def get(self, link_id: Id) -> TagLink:
        self._require("get")
        return self._adapter.get_tag_link(self._target, normalise_id(link_id, "link id"))

    @property
    def _target(self) -> TagTarget:
        target = self.entity.target
        assert target is not None, "a tag-link entity names its target"
        return target

    def _link(self, target_id: Id, tag_id: Id) -> TagLink:
        self._require("create")
        return self._adapter.link_tag(
            self._target,
            normalise_id(target_id, f"{self._target.value} id"),
            normalise_id(tag_id, "tag id"),
        )

    def unlink(self, link_id: Id) -> None:
        """Remove the link (by the link's own id, as ``list`` returns it)."""
        self._require("delete")
        self._adapter.unlink_tag(self._target, normalise_id(link_id, "link id"))

    def _list(self, filters: Mapping[str, Any], call: str) -> Iterator[TagLink]:
        return self._listing(
            filters, call, lambda server: self._adapter.list_tag_links(self._target, server)
        )


class DeviceTags(_TagLinks):
    entity = ENTITIES["device_tags"]

    def list(self, **filters: Unpack[DeviceTagFilters]) -> Iterator[TagLink]:
        return self._list(filters, "device_tags.list")

    def link(self, *, device_id: Id, tag_id: Id) -> TagLink:
        return self._link(device_id, tag_id)


class UserTags(_TagLinks):
    entity = ENTITIES["user_tags"]

    def list(self, **filters: Unpack[UserTagFilters]) -> Iterator[TagLink]:
        return self._list(filters, "user_tags.list")

    def link(self, *, user_id: Id, tag_id: Id) -> TagLink:
        return self._link(user_id, tag_id)


class GroupTags(_TagLinks):
    entity = ENTITIES["group_tags"]

    def list(self, **filters: Unpack[GroupTagFilters]) -> Iterator[TagLink]:
        return self._list(filters, "group_tags.list")

    def link(self, *, group_id: Id, tag_id: Id) -> TagLink:
        """``group_id="0"`` links the tag to "All" on DuoSTATION."""
        return self._link(group_id, tag_id)


class Apps(Namespace):
    entity = ENTITIES["apps"]

    def list(self, **filters: Unpack[AppFilters]) -> Iterator[App]:
        return self._listing(filters, "apps.list", self._adapter.list_apps)

    def get(self, app_id: Id) -> App:
        self._require("get")
        return self._adapter.get_app(self._id(app_id))

    def upsert(self, **values: Unpack[AppUpsertArgs]) -> App:
        """Add the app, or update the one with the same package id, platform and store."""
        checked = self._values("create", values, "apps.upsert")
        return self._adapter.upsert_app(cast(AppUpsert, checked))


def _show_keywords(namespace: type[Namespace]) -> None:
    """Give ``inspect.signature`` (``help()``, notebooks, the CLI test) the keyword-only
    parameters the registry declares, in place of ``**values``."""
    entity = namespace.entity
    keywords: dict[str, list[tuple[str, Any]]] = {
        "list": [(ff.name, None) for ff in entity.filter_fields],
        entity.verb: [
            (w.name, inspect.Parameter.empty if w.required else None)
            for w in entity.fields_for("create")
        ],
        "update": [(w.name, UNSET) for w in entity.fields_for("update")],
    }
    for verb, names in keywords.items():
        method = namespace.__dict__.get(verb)
        if method is None:
            continue
        signature = inspect.signature(method)
        kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d) for n, d in names]
        method.__signature__ = signature.replace(parameters=[*kept, *added])


for _namespace in (Groups, Users, Devices, Tags, DeviceTags, UserTags, GroupTags, Apps):
    _show_keywords(_namespace)
