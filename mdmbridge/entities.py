"""The registry: the one declaration of each entity mdmbridge knows.

An :class:`Entity` says what the entity is (its model), what an adapter needs to read and
write it (capabilities), how it is listed (its filters ``TypedDict``), what can be written
(the model's :class:`~mdmbridge.fields.Write` fields, plus write-only ones) and how it is
exported (columns from the model, indexes). Everything else is derived from here: the
client's checks and messages, the CLI's resource commands and their options, the export,
the migration planner, ``docs/export-schema.md`` and the typed signatures in
:mod:`mdmbridge.writes` (generated; see :mod:`mdmbridge.generate`).

Core facts live here rather than in the export package, so the client, the CLI and
migration do not reach them through ``mdmbridge.export``.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime

from mdmbridge import filters as f
from mdmbridge.capabilities import Capability
from mdmbridge.capabilities import Capability as C
from mdmbridge.fields import (
    Checker,
    FilterField,
    Mode,
    Write,
    WriteField,
    filter_fields,
    write_fields,
)
from mdmbridge.models import App, Device, Group, Location, Record, Tag, TagLink, TagTarget, User

if TYPE_CHECKING:
    from mdmbridge.client import Client

ColumnKind = Literal["text", "integer", "real", "boolean", "timestamp", "json"]
Operation = Literal["list", "get", "create", "update", "delete"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    enum: bool = False  # text held as an enum member in the model (exported as its value)


@dataclass(frozen=True, eq=False)
class Entity:
    """One entity. ``name`` is the client attribute, the CLI group and the export table."""

    name: str
    singular: str  # "group": messages, the CLI's help
    model: type[Record]
    read: Capability
    filters: type  # a TypedDict of mdmbridge.filters
    indexes: tuple[tuple[str, ...], ...] = ()  # export (SQLite), besides UNIQUE (tenant, id)
    costly: bool = False  # one request per device: not in the export's default selection
    write: Capability | None = None  # create (and update, where ``update``)
    delete: Capability | None = None
    verb: Literal["create", "upsert"] = "create"
    update: bool = True
    # field -> (the capability it also needs, what to call it when refused)
    needs: Mapping[str, tuple[Capability, str]] = field(default_factory=dict)
    write_only: tuple[WriteField, ...] = ()  # written but never read back (apps' image_data)
    target: TagTarget | None = None  # tag links: what the tag is linked to
    words: Mapping[str, str] = field(default_factory=dict)  # operation -> "what" in refusals
    lister: Callable[[Client], Iterator[Record]] | None = None  # default: .list() whole

    @property
    def capability(self) -> Capability:
        """What reading (and so exporting) it needs."""
        return self.read

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        return columns_of(self.model)

    @cached_property
    def writable(self) -> tuple[WriteField, ...]:
        """Every field the client can write, in model order, write-only ones last."""
        return (*write_fields(self.model), *self.write_only)

    def fields_for(self, mode: Mode) -> tuple[WriteField, ...]:
        if self.write is None or (mode == "update" and not self.update):
            return ()
        return tuple(w for w in self.writable if w.in_mode(mode))

    @cached_property
    def filter_fields(self) -> tuple[FilterField, ...]:
        return filter_fields(self.filters)

    @cached_property
    def _checkers(self) -> dict[str, Checker]:
        return {mode: Checker(self.singular, mode, self.fields_for(mode)) for mode in _MODES}

    def checker(self, mode: Mode) -> Checker:
        return self._checkers[mode]

    def what(self, operation: Operation) -> str:
        """How a refusal names the operation: "listing groups", "reading a group"."""
        if operation in self.words:
            return self.words[operation]
        default = {
            "list": f"listing {self.name}",
            "get": f"reading a {self.singular}",
            "create": f"creating {self.name}",
            "update": f"updating {self.name}",
            "delete": f"deleting {self.name}",
        }
        return default[operation]

    def fetch(self, client: Client) -> Iterator[Record]:
        """Every record, for the export and migration snapshots."""
        if self.lister is not None:
            return self.lister(client)
        records: Iterator[Record] = getattr(client, self.name).list()
        return records


_MODES: tuple[Mode, ...] = ("create", "update")


def _locations(client: Client) -> Iterator[Record]:
    for device in client.devices.list():
        yield from client.locations.list(device_id=device.id)


def _link(name: str, target: TagTarget, capability: Capability, filters: type) -> Entity:
    words = dict.fromkeys(("list", "get", "create", "delete"), f"{target.value} tags")
    return Entity(
        name,
        f"{target.value} tag link",
        TagLink,
        capability,
        filters,
        (("tag_id",), ("target_id",)),
        write=capability,
        delete=capability,
        update=False,
        target=target,
        words=words,
    )


# Export order (docs/export-schema.md, ``--entities all``).
ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            "devices",
            "device",
            Device,
            C.DEVICES_READ,
            f.DeviceFilters,
            (("serial_number",), ("user_id",)),
        ),
        Entity(
            "users",
            "user",
            User,
            C.USERS_READ,
            f.UserFilters,
            (("email",), ("group_id",)),
            write=C.USERS_WRITE,
            delete=C.USERS_DELETE,
        ),
        Entity(
            "groups",
            "group",
            Group,
            C.GROUPS_READ,
            f.GroupFilters,
            (("name",), ("path",)),
            write=C.GROUPS_WRITE,
            delete=C.GROUPS_DELETE,
            needs={"parent_id": (C.GROUPS_NESTED, "nested groups (parent_id)")},
        ),
        Entity(
            "tags",
            "tag",
            Tag,
            C.TAGS_READ,
            f.TagFilters,
            (("name",),),
            write=C.TAGS_WRITE,
            delete=C.TAGS_DELETE,
            words={"list": "tags", "get": "tags"},
        ),
        Entity(
            "apps",
            "app",
            App,
            C.APPS_READ,
            f.AppFilters,
            (("package_id",),),
            write=C.APPS_WRITE,
            verb="upsert",
            update=False,
            write_only=(WriteField("image_data", str, Write("icon as base64")),),
            words={"list": "apps", "get": "apps", "create": "adding apps"},
        ),
        _link("device_tags", TagTarget.DEVICE, C.DEVICE_TAGS, f.DeviceTagFilters),
        _link("user_tags", TagTarget.USER, C.USER_TAGS, f.UserTagFilters),
        _link("group_tags", TagTarget.GROUP, C.GROUP_TAGS, f.GroupTagFilters),
        Entity(
            "locations",
            "location",
            Location,
            C.DEVICE_LOCATIONS,
            f.NoFilters,
            (("device_id",),),
            costly=True,
            words={"list": "device locations"},
            lister=_locations,
        ),
    )
}

LINKS: dict[TagTarget, Entity] = {e.target: e for e in ENTITIES.values() if e.target is not None}


def writable_entities() -> list[Entity]:
    """Entities with a create (or upsert) through the client's keyword calls."""
    return [e for e in ENTITIES.values() if e.write is not None and e.target is None]


# --------------------------------------------------------------------------- columns


def _kind(annotation: Any) -> ColumnKind:
    if annotation is AwareDatetime:  # pydantic's marker class, not a datetime subclass
        return "timestamp"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(options[0])
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if isinstance(annotation, type):
        if issubclass(annotation, bool):
            return "boolean"
        if issubclass(annotation, enum.Enum):
            return "text"
        if issubclass(annotation, int):
            return "integer"
        if issubclass(annotation, float):
            return "real"
        if issubclass(annotation, datetime):
            return "timestamp"
    return "text"


def _is_enum(annotation: Any) -> bool:
    options = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    return any(isinstance(option, type) and issubclass(option, enum.Enum) for option in options)


def columns_of(model: type[Record]) -> tuple[Column, ...]:
    """``tenant``, ``vendor``, ``id``, the model's fields in model order, then ``raw``."""
    fields = model.model_fields
    leading = ("tenant", "vendor", "id")
    middle = [name for name in fields if name not in leading and name != "raw"]
    out = [Column(name, "text") for name in leading]
    for name in middle:
        annotation = fields[name].annotation
        out.append(Column(name, _kind(annotation), enum=_is_enum(annotation)))
    out.append(Column("raw", "json"))
    return tuple(out)


# --------------------------------------------------------------------------- adapters


def check_declarations(
    vendor: str,
    list_filters: Mapping[str, frozenset[str]],
    writable: Mapping[str, Any],
) -> None:
    """An adapter's ``list_filters`` and ``writable`` must name the registry's entities,
    filters and fields: a typo there would otherwise silently refuse (or allow) a call."""
    for name, names in list_filters.items():
        entity = ENTITIES.get(name)
        if entity is None:
            raise TypeError(f"{vendor}: list_filters names an unknown entity {name!r}")
        unknown = set(names) - {ff.name for ff in entity.filter_fields}
        if unknown:
            raise TypeError(f"{vendor}: {name} has no filter {', '.join(sorted(unknown))}")
    for name, declared in writable.items():
        entity = ENTITIES.get(name)
        if entity is None or entity.write is None:
            raise TypeError(f"{vendor}: writable names an entity without writes: {name!r}")
        for mode in _MODES:
            known = {w.name for w in entity.fields_for(mode)}
            unknown = set(getattr(declared, mode)) - known
            if unknown:
                raise TypeError(
                    f"{vendor}: {name} has no field {', '.join(sorted(unknown))} to {mode}"
                )
