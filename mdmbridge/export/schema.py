"""What an export holds: one table per entity, its columns derived from the core model.

Every row has ``tenant``, ``vendor``, ``id``, the model's normalised fields in model order,
and ``raw`` (the vendor payload as JSON). Deriving the columns from the models keeps the
export, its documentation (``docs/export-schema.md``) and the models from drifting apart.
"""

from __future__ import annotations

import enum
import json
import operator
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime

from mdmbridge.capabilities import Capability
from mdmbridge.client import Client
from mdmbridge.models import App, Device, Group, Location, Record, Tag, TagLink, User

ColumnKind = Literal["text", "integer", "real", "boolean", "timestamp", "json"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    enum: bool = False  # text held as an enum member in the model (exported as its value)


@dataclass(frozen=True)
class EntitySpec:
    name: str
    model: type[Record]
    capability: Capability
    fetch: Callable[[Client], Iterator[Record]]
    indexes: tuple[tuple[str, ...], ...] = ()
    costly: bool = False  # one request per device: not in the default selection

    @property
    def columns(self) -> tuple[Column, ...]:
        return columns_of(self.model)


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
    fields = model.model_fields
    leading = ("tenant", "vendor", "id")
    middle = [name for name in fields if name not in leading and name != "raw"]
    out = [Column(name, "text") for name in leading]
    for name in middle:
        annotation = fields[name].annotation
        out.append(Column(name, _kind(annotation), enum=_is_enum(annotation)))
    out.append(Column("raw", "json"))
    return tuple(out)


def _locations(client: Client) -> Iterator[Record]:
    for device in client.devices.list():
        yield from client.locations.list(device_id=device.id)


def _spec(
    name: str,
    model: type[Record],
    capability: Capability,
    fetch: Callable[[Client], Iterator[Record]],
    *indexes: str,
    costly: bool = False,
) -> EntitySpec:
    return EntitySpec(name, model, capability, fetch, tuple((i,) for i in indexes), costly)


_C = Capability
ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "devices",
            Device,
            _C.DEVICES_READ,
            lambda c: c.devices.list(),
            "serial_number",
            "user_id",
        ),
        _spec("users", User, _C.USERS_READ, lambda c: c.users.list(), "email", "group_id"),
        _spec("groups", Group, _C.GROUPS_READ, lambda c: c.groups.list(), "name", "path"),
        _spec("tags", Tag, _C.TAGS_READ, lambda c: c.tags.list(), "name"),
        _spec("apps", App, _C.APPS_READ, lambda c: c.apps.list(), "package_id"),
        _spec(
            "device_tags",
            TagLink,
            _C.DEVICE_TAGS,
            lambda c: c.device_tags.list(),
            "tag_id",
            "target_id",
        ),
        _spec(
            "user_tags", TagLink, _C.USER_TAGS, lambda c: c.user_tags.list(), "tag_id", "target_id"
        ),
        _spec(
            "group_tags",
            TagLink,
            _C.GROUP_TAGS,
            lambda c: c.group_tags.list(),
            "tag_id",
            "target_id",
        ),
        _spec("locations", Location, _C.DEVICE_LOCATIONS, _locations, "device_id", costly=True),
    )
}
DEFAULT_ENTITIES = ("devices", "users", "groups")


def parse_entities(text: str | None) -> list[EntitySpec]:
    """``"devices,users"`` -> specs; ``"all"`` -> every entity; unknown names are refused."""
    if not text:
        return [ENTITIES[name] for name in DEFAULT_ENTITIES]
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(ENTITIES.values())
    unknown = [n for n in names if n not in ENTITIES]
    if unknown:
        from mdmbridge.errors import ValidationError

        raise ValidationError(
            f"unknown entity {unknown[0]!r} (choose from {', '.join(ENTITIES)}, or all)"
        )
    return [ENTITIES[n] for n in dict.fromkeys(names)]


Row = tuple[Any, ...]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _enum_value(value: enum.Enum | None) -> Any:
    return None if value is None else value.value


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def row_maker(columns: tuple[Column, ...], *, encode_json: bool = True) -> Callable[[Record], Row]:
    """A fast record -> row function for these columns: a tuple in column order, enums as
    their value, times as ISO 8601 UTC text, and ``raw`` as compact JSON text (or, with
    ``encode_json=False``, the payload itself). Built once per entity, since exports make
    hundreds of thousands of rows; encoding ``raw`` here puts that cost in the collecting
    workers, not in the one process that assembles the output."""
    get = operator.attrgetter(*(c.name for c in columns))
    converts: list[tuple[int, Callable[[Any], Any]]] = []
    for position, column in enumerate(columns):
        if column.kind == "timestamp":
            converts.append((position, _iso))
        elif column.enum:
            converts.append((position, _enum_value))
        elif column.kind == "json" and encode_json:
            converts.append((position, _json_text))

    def make(record: Record) -> Row:
        values = get(record)
        if not converts:
            return values if isinstance(values, tuple) else (values,)
        out = list(values)
        for position, convert in converts:
            out[position] = convert(out[position])
        return tuple(out)

    return make


_KIND_TYPES = {
    "text": ("TEXT", "string", "string"),
    "integer": ("INTEGER", "int64", "number"),
    "real": ("REAL", "float64", "number"),
    "boolean": ("INTEGER (0/1)", "bool", "true/false"),
    "timestamp": ("TEXT, ISO 8601 UTC", "timestamp[us, UTC]", "string, ISO 8601 UTC (…Z)"),
    "json": ("TEXT (JSON)", "string (JSON)", "object (CSV: JSON text)"),
}


def schema_markdown() -> str:
    """docs/export-schema.md, generated from the models (a test keeps the file in sync)."""
    lines = [
        "# Export schema",
        "",
        "Generated from the core models by `mdmbridge.export.schema.schema_markdown()`;",
        "`tests/test_export_schema_doc.py` fails if this file and the code disagree.",
        "",
        "Every entity is one table (SQLite), one file (`<entity>.csv`, `<entity>.parquet` in the",
        'output directory), or rows tagged with `"entity"` (JSON Lines; JSON is an object of',
        "arrays keyed by entity). Every row starts with `tenant`, `vendor`, `id` and ends with",
        "`raw`, the vendor's payload verbatim. Empty values are NULL / empty cells. CSV is UTF-8",
        "with a byte-order mark so spreadsheet programs show å, ä, ö correctly.",
        "",
        f"Default entities: {', '.join(DEFAULT_ENTITIES)}. `--entities all` adds the rest;",
        "`locations` costs one request per device.",
        "",
    ]
    for spec in ENTITIES.values():
        lines += [
            f"## {spec.name}",
            "",
            f"Needs the adapter capability `{spec.capability.value}`. "
            f"SQLite indexes: UNIQUE (tenant, id)"
            + "".join(f"; (tenant, {', '.join(i)})" for i in spec.indexes)
            + ".",
            "",
        ]
        lines += ["| column | kind | SQLite | Parquet | JSON |", "|---|---|---|---|---|"]
        for column in spec.columns:
            sql, parquet, json_type = _KIND_TYPES[column.kind]
            lines.append(f"| `{column.name}` | {column.kind} | {sql} | {parquet} | {json_type} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(schema_markdown(), end="")
