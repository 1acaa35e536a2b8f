"""What an export holds: one table per entity, as the registry declares it.

The entities, their columns (derived from the core models) and indexes are core facts and
live in :mod:`mdmbridge.entities`; this module keeps what is the export's own: the default
selection, parsing ``--entities``, and turning records into rows fast.
"""

from __future__ import annotations

import enum
import json
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from mdmbridge.entities import ENTITIES, Column, ColumnKind, Entity, columns_of
from mdmbridge.errors import ValidationError
from mdmbridge.models import Record

EntitySpec = Entity  # the export's name for a registry entity
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
        raise ValidationError(
            f"unknown entity {unknown[0]!r} (choose from {', '.join(ENTITIES)}, or all)"
        )
    return [ENTITIES[n] for n in dict.fromkeys(names)]


Row = tuple[Any, ...]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _enum_value(value: enum.Enum | None) -> Any:
    return None if value is None else value.value


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()


def _json_text(value: Any) -> str | None:
    """Compact JSON text of ``value`` (decoded JSON: a record's ``raw``), encoded by
    msgspec at a fifth of json.dumps's cost (benchmarks/decode.py).

    It is the text ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` gives,
    but for one thing: a float beyond 1e16 or below 1e-4 is written as msgspec writes it
    (``1e16``, ``0.00001``; the stdlib ``1e+16``, ``1e-05``), the same number in valid
    JSON. Where msgspec would lose something, the stdlib encodes instead, as before: a
    non-finite float (msgspec writes ``null``, so a ``null`` is trusted only when the text
    decodes back to ``value``), a lone surrogate, an integer past msgspec's range."""
    if value is None:
        return None
    try:
        encoded = _ENCODER.encode(value)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError):
        encoded = None
    if encoded is not None and (b"null" not in encoded or _DECODER.decode(encoded) == value):
        return encoded.decode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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


__all__ = [
    "DEFAULT_ENTITIES",
    "ENTITIES",
    "Column",
    "ColumnKind",
    "EntitySpec",
    "Row",
    "columns_of",
    "parse_entities",
    "row_maker",
]
