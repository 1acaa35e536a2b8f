"""Writable fields and list filters: declared once, checked before any adapter sees them.

A core model says which of its fields the client can write by annotating them with
:class:`Write`, e.g. ``number: Annotated[str | None, Write("the group's number")] = None``.
From that one line the registry (:mod:`mdmbridge.entities`) derives the client's keyword
signatures (generated into :mod:`mdmbridge.writes`), the CLI options, what a migration
copies and the documentation. List filters are declared the same way, as ``TypedDict``s
whose keys carry a :class:`Filter` (:mod:`mdmbridge.filters`).

This module also validates what a caller passes, once, in core: required fields present
and not blank, ids as stripped non-empty strings, enums as known members, integers as
integers. Adapters receive those checked values and keep only the vendor's own rules.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Final, Literal, NotRequired, Required

import pydantic
from pydantic import AfterValidator, PlainValidator, StrictBool, StrictInt, StrictStr
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from mdmbridge.errors import ValidationError

Id = str | int
Mode = Literal["create", "update"]


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

    def __reduce__(self) -> str:
        return "UNSET"  # a pickled UNSET is the same singleton


Unset = _Unset
UNSET: Final = _Unset()


def normalise_id(value: Any, what: str) -> str:
    """Ids reach adapters as stripped, non-empty strings; the vendor checks their form."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(f"{what} must be a string or an integer, not {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ValidationError(f"{what} is empty")
    return text


@dataclass(frozen=True)
class Write:
    """Annotation metadata on a model field: the client can write it.

    ``create``: "required", "optional" or "no" (not on create); ``update``: whether an
    update can change it; ``clear``: whether an update can set it to None (default: when
    it is optional); ``ref``: the entity an id field points at (migration resolves it);
    ``min``: the smallest integer accepted. ``help`` is the CLI option's help, and
    ``update_help`` its help on ``update`` where that reads differently.
    """

    help: str
    create: Literal["required", "optional", "no"] = "optional"
    update: bool = True
    clear: bool | None = None
    update_help: str | None = None
    ref: str | None = None
    min: int | None = None


@dataclass(frozen=True)
class Filter:
    """Annotation metadata on a key of a filters ``TypedDict``: its CLI help."""

    help: str


def value_type(annotation: Any) -> Any:
    """``str | None`` -> ``str``; ``Annotated[int, ...]`` -> ``int``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return value_type(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return value_type(options[0])
        return annotation
    return annotation


def is_enum(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, enum.Enum)


@dataclass(frozen=True)
class WriteField:
    """One writable field of one entity, as the registry derives it from the model."""

    name: str
    type: Any  # the value type, None removed: str, int, bool, an enum
    write: Write

    @property
    def help(self) -> str:
        return self.write.help

    @property
    def update_help(self) -> str:
        return self.write.update_help or self.write.help

    @property
    def required(self) -> bool:
        return self.write.create == "required"

    @property
    def on_create(self) -> bool:
        return self.write.create != "no"

    @property
    def on_update(self) -> bool:
        return self.write.update

    @property
    def clearable(self) -> bool:
        """An update may set it to None."""
        return self.write.update and (
            not self.required if self.write.clear is None else self.write.clear
        )

    @property
    def ref(self) -> str | None:
        return self.write.ref

    def in_mode(self, mode: Mode) -> bool:
        return self.on_create if mode == "create" else self.on_update

    def checked_type(self) -> Any:
        """The pydantic type a given value is validated with (None handled by the caller)."""
        if self.ref is not None:
            return Annotated[str, PlainValidator(_id_value)]
        if is_enum(self.type):
            return Annotated[self.type, AfterValidator(_known_member)]
        if self.type is bool:
            return StrictBool
        if self.type is int:
            return (
                StrictInt
                if self.write.min is None
                else Annotated[StrictInt, pydantic.Field(ge=self.write.min)]
            )
        if self.type is str:
            return Annotated[StrictStr, AfterValidator(_not_blank)] if self.required else StrictStr
        return self.type


@dataclass(frozen=True)
class FilterField:
    """One list filter of one entity, from its filters ``TypedDict``."""

    name: str
    type: Any
    help: str

    @property
    def is_id(self) -> bool:
        return self.name.endswith("_id")


def write_fields(model: type[pydantic.BaseModel]) -> tuple[WriteField, ...]:
    """The model's fields annotated with :class:`Write`, in model order."""
    out = []
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, Write):
                out.append(WriteField(name, value_type(info.annotation), meta))
    return tuple(out)


def filter_fields(filters: type) -> tuple[FilterField, ...]:
    """The keys of a filters ``TypedDict``, with their help, in declaration order."""
    hints = typing.get_type_hints(filters, include_extras=True)
    out = []
    for name, hint in hints.items():
        meta = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Filter)]
        if not meta:
            raise TypeError(f"{filters.__name__}.{name} has no Filter(...) help")
        out.append(FilterField(name, value_type(hint), meta[0].help))
    return tuple(out)


def _id_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"must be a string or an integer, not {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ValueError("is empty")
    return text


def _known_member(value: enum.Enum) -> enum.Enum:
    if value.name == "UNKNOWN":
        raise ValueError("is not a value mdmbridge knows")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("cannot be empty")
    return value


@dataclass(frozen=True)
class Checker:
    """Validates the values of one write (create or update) of one entity."""

    what: str  # "group": the start of every message
    mode: Mode
    fields: tuple[WriteField, ...]

    @cached_property
    def _adapter(self) -> pydantic.TypeAdapter[Any]:
        keys: dict[str, Any] = {}
        for field in self.fields:
            kind = field.checked_type()
            if self.mode == "create":
                keys[field.name] = Required[kind] if field.required else NotRequired[kind]
            else:
                keys[field.name] = NotRequired[kind | None if field.clearable else kind]
        # A TypedDict keeps exactly the keys given: "not given" stays "not sent".
        shape: Any = TypedDict(f"{self.what}_{self.mode}", keys, total=False)  # type: ignore[misc]
        return pydantic.TypeAdapter(shape)

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    def check(self, given: Mapping[str, Any], *, call: str) -> dict[str, Any]:
        """Given keywords -> checked values: UNSET dropped; on create, None dropped too
        (not sent); unknown keywords are a TypeError, as for any Python call."""
        unknown = [name for name in given if name not in self.names]
        if unknown:
            raise TypeError(f"{call}() got an unexpected keyword argument {unknown[0]!r}")
        values = {
            name: value
            for name, value in given.items()
            if value is not UNSET and not (self.mode == "create" and value is None)
        }
        try:
            return dict(self._adapter.validate_python(values))
        except pydantic.ValidationError as exc:
            raise ValidationError(f"{self.what} {_reason(exc)}") from None


def _reason(exc: pydantic.ValidationError) -> str:
    """One line, naming the field; never the whole pydantic report."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "value"
    if error["type"] == "missing":
        return f"{field} is required"
    if error["type"] == "none_forbidden" or error.get("input", 0) is None:
        return f"{field} cannot be cleared"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}"
