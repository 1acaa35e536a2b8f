"""Export rows as compact JSON objects (UTF-8 bytes): the JSON Lines and JSON formats.

Each entity gets a msgspec ``Struct`` whose fields are its column names, in column order;
a row becomes one instance (a C call taking the tuple as it is) and msgspec encodes a whole
batch of them as lines in one call. A JSON column (``raw``: compact JSON text already) is
wrapped as ``msgspec.Raw`` and spliced in as it is, never decoded and encoded again. That
is a quarter of the cost of building a dict per row and encoding it (2.5 -> 0.6 µs a
device, ``benchmarks/export.py``), and the same bytes: the one encoder writes every value.

The collecting workers encode a jsonl export's lines (``export/collect.py``) with the very
code the sink uses; each builds its own (a ``Struct`` made here does not pickle).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from mdmbridge.export.schema import EntitySpec, Row
from mdmbridge.export.sinks_rows import DATA_ERRORS

_ENCODER = msgspec.json.Encoder()
_Raw = msgspec.Raw

# Writing a value JSON cannot hold: a lone surrogate (UnicodeEncodeError, a ValueError),
# an integer past 64 bits or a type msgspec does not know (EncodeError, TypeError).
JSON_DATA_ERRORS: tuple[type[BaseException], ...] = (*DATA_ERRORS, msgspec.EncodeError)


def _raw(text: str | None) -> Any:
    return None if text is None else _Raw(text)


class JsonObjects:
    """One entity's rows -> JSON objects with keys ``names`` (``lead`` values first, such as
    the jsonl line's ``entity``). The columns at ``json_at`` hold JSON text and must be the
    last ones: they are wrapped, the others passed as they are."""

    def __init__(self, names: Sequence[str], json_at: set[int], lead: tuple[Any, ...] = ()):
        plain = len(names) - len(json_at) - len(lead)  # row values passed as they are
        if json_at != set(range(len(names) - len(json_at), len(names))):
            raise ValueError("JSON columns must be the last columns")
        if plain < 0:
            raise ValueError("more lead values than plain columns")
        # Fields f0, f1, ... renamed to the names on the wire: any column name works,
        # not only a Python identifier.
        fields = [(f"f{number}", object) for number in range(len(names))]
        shape = msgspec.defstruct(
            "Row", fields, rename={f"f{number}": name for number, name in enumerate(names)}
        )
        self.make: Callable[[Row], Any]
        if len(json_at) == 1:  # raw: the common case
            self.make = lambda row: shape(*lead, *row[:plain], _raw(row[plain]))
        else:
            self.make = lambda row: shape(*lead, *row[:plain], *map(_raw, row[plain:]))

    def one(self, row: Row) -> bytes:
        """The row as one JSON object (no newline)."""
        return _ENCODER.encode(self.make(row))

    def lines(self, rows: Sequence[Row]) -> bytes:
        """The rows as JSON Lines, a newline after each. A row JSON cannot hold raises one
        of JSON_DATA_ERRORS for the whole batch; :meth:`one` finds which row it was."""
        return _ENCODER.encode_lines(list(map(self.make, rows)))


@functools.cache
def jsonl_objects(entity: EntitySpec) -> JsonObjects:
    """The entity's JSON Lines encoder: ``entity`` first, then its columns. One for the
    sink and for the collecting workers that encode lines ahead of it; made once per
    entity and process, not once per tenant (a fleet export has thousands)."""
    names = ("entity", *(c.name for c in entity.columns))
    json_at = {i + 1 for i, c in enumerate(entity.columns) if c.kind == "json"}
    return JsonObjects(names, json_at, lead=(entity.name,))


@functools.cache
def json_objects(entity: EntitySpec) -> JsonObjects:
    """The entity's encoder for the JSON document's arrays: its columns alone."""
    names = tuple(c.name for c in entity.columns)
    return JsonObjects(names, {i for i, c in enumerate(entity.columns) if c.kind == "json"})
