"""Export rows straight from vendor payloads, without building the pydantic model.

An export turns every record into one row (:func:`mdmbridge.export.schema.row_maker`):
reading the payload through the adapter's :class:`~mdmbridge.mapping.FieldTable`, then
building the strict pydantic model (~6 µs a device), then reading the model back into a
tuple (~3 µs). For the commonest payloads the model changes nothing: every value the table
produced is already of exactly the model's type and within its bounds, so validation
returns it as it is. A :class:`RowBuilder` checks exactly that, in one function generated
per payload shape from the same declarations (the table's converters, the model's fields,
the registry's columns; no second field list), and builds the row from the values. Any
record it cannot vouch for (a converter that fails, a value of another type, a number out
of the model's bounds, a required field missing, a key that is not text) takes today's
path, :func:`~mdmbridge.mapping.build` and the model, so it gives the same row or the
same error, redacted the same way. ``tests/test_typed_rows.py`` holds both paths equal.

Only annotations whose validation is a type check (and bounds) are handled; a model field
of any other kind leaves the whole entity on the model path.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from operator import itemgetter
from typing import Any

import annotated_types
from pydantic import AwareDatetime
from pydantic_core import PydanticUndefined

from mdmbridge.entities import Column
from mdmbridge.export.schema import Row, _iso, _json_text, row_maker
from mdmbridge.fields import Write
from mdmbridge.mapping import FieldTable, build
from mdmbridge.models import Record

_Fast = Callable[[dict[str, Any]], Row | None]
_MAX_SHAPES = 256
_SPECIAL = ("tenant", "vendor", "raw")


class RowBuilder:
    """Payload -> export row for one entity of one tenant: the generated fast form where
    it provably equals the model path, the model path (``build`` + ``row_maker``) else."""

    def __init__(
        self,
        model: type[Record],
        table: FieldTable,
        columns: tuple[Column, ...],
        *,
        tenant: str,
        vendor: str,
        extra: Mapping[str, Any] | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.model, self.table, self.columns = model, table, columns
        self.tenant, self.vendor = tenant, vendor
        self.extra = dict(extra) if extra else None
        self.redact = redact
        self._make_row = row_maker(columns)
        self._plan = _plan(model, table, columns, self.extra)
        if tenant.__class__ is not str or vendor.__class__ is not str:
            self._plan = None
        self._shapes: dict[tuple[Any, ...], _Fast | None] = {}
        self.fast = 0  # rows built the fast way (for tests; not exact across threads)
        self.id_of: Callable[[Row], str] = itemgetter([c.name for c in columns].index("id"))

    def slow_row(self, payload: Any) -> Row:
        """Today's path: the model (and its error, if the payload is bad), then the row."""
        record = build(
            self.model,
            self.table,
            payload,
            tenant=self.tenant,
            vendor=self.vendor,
            extra=self.extra,
            redact=self.redact,
        )
        return self._make_row(record)

    def row(self, payload: Any) -> Row:
        if self._plan is not None and payload.__class__ is dict:
            shape = tuple(payload)
            fast = self._shapes.get(shape, _UNSEEN)
            if fast is _UNSEEN:
                fast = self._compile(shape)
            if fast is not None:
                try:
                    made = fast(payload)
                except Exception:  # a converter refused: the model path words the error
                    made = None
                if made is not None:
                    self.fast += 1
                    return made
        return self.slow_row(payload)

    def rows(self, payloads: typing.Iterable[Any]) -> Iterator[Row]:
        return map(self.row, payloads)

    def _compile(self, shape: tuple[Any, ...]) -> _Fast | None:
        fast = None
        if self._plan is not None and all(key.__class__ is str for key in shape):
            fast = _generate(self._plan, self.table.expressions_for(shape), self)
        if len(self._shapes) < _MAX_SHAPES:
            self._shapes[shape] = fast
        return fast


def _unseen(payload: dict[str, Any]) -> Row | None:  # a marker, never called
    return None


_UNSEEN: _Fast = _unseen

# One column: (name, where its value comes from, the check it must pass, how it is shown).
# Source: "v" (the table's or extra's value), "d" (the model's default), or a special.
_Step = tuple[str, str, str, str, Any]


def _plan(
    model: type[Record],
    table: FieldTable,
    columns: tuple[Column, ...],
    extra: Mapping[str, Any] | None,
) -> list[_Step] | None:
    """What each column needs, or None when some field's validation is more than a type
    check this module knows (then every record takes the model path)."""
    fields = model.model_fields
    given = set(table.fields) | set(extra or ())
    if not given <= set(fields) - set(_SPECIAL):
        return None  # the model (extra="forbid") would refuse every record
    steps: list[_Step] = []
    for column in columns:
        name = column.name
        if name in _SPECIAL:
            steps.append((name, name, "", "json" if name == "raw" else "", None))
            continue
        info = fields.get(name)
        if info is None:
            return None
        check = _check(info.annotation, info.metadata)
        if check is None:
            return None
        show = "iso" if column.kind == "timestamp" else ("enum" if column.enum else "")
        if name in given:
            steps.append((name, "v", check, show, None))
        elif info.default is PydanticUndefined or info.default_factory is not None:
            return None  # required and never given: the model refuses every record
        else:
            steps.append((name, "d", "", show, info.default))
    return steps


def _check(annotation: Any, metadata: list[Any]) -> str | None:
    """A Python condition on ``x`` that holds exactly when pydantic's validation of the
    field would return ``x`` itself; None for an annotation not handled here."""
    bounds = []
    for item in metadata:
        if isinstance(item, Write):
            continue  # the client's write rules; no part of validation
        if isinstance(item, annotated_types.Ge) and isinstance(item.ge, int | float):
            bounds.append(f"x >= {item.ge!r}")
        elif isinstance(item, annotated_types.Le) and isinstance(item.le, int | float):
            bounds.append(f"x <= {item.le!r}")
        else:
            return None
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(options) < len(typing.get_args(annotation))
        if len(options) != 1:
            return None
        annotation = options[0]
    if annotation is AwareDatetime:
        base = "(x.__class__ is datetime and x.utcoffset() is not None)"
    elif annotation in (str, int, float, bool) or (
        isinstance(annotation, type) and issubclass(annotation, enum.Enum)
    ):
        base = f"x.__class__ is {_name(annotation)}"
    else:
        return None
    if bounds and annotation not in (int, float):
        return None
    condition = " and ".join([base, *bounds])
    return f"(x is None or ({condition}))" if optional else f"({condition})"


_NAMES: dict[Any, str] = {str: "str", int: "int", float: "float", bool: "bool"}


def _name(annotation: Any) -> str:
    return _NAMES.get(annotation) or f"E_{annotation.__name__}"


def _generate(
    plan: list[_Step], reading: tuple[dict[str, Any], list[tuple[str, str]]], owner: RowBuilder
) -> _Fast:
    """One straight-line function for one payload shape: every field the table reads, as
    the compiled reader reads it (:func:`mdmbridge.mapping.expressions`, in the table's
    order, so a refusal is raised as there), then each column's check and form. Only our
    own field names and fixed expressions are written into its source; every value (keys,
    defaults, enum classes, converters) is passed in as a default argument."""
    scope, reads = reading
    scope = {
        **scope,
        "json_text": _json_text,
        "iso_text": _iso,
        "datetime": datetime,
        "tenant": owner.tenant,
        "vendor": owner.vendor,
    }
    lines = [f"    t_{name} = {expr}" for name, expr in reads]
    extra = owner.extra or {}
    items: list[str] = []
    for number, (name, source, check, show, default) in enumerate(plan):
        if source == "raw":
            items.append("json_text(p)")
            continue
        if source in ("tenant", "vendor"):
            items.append(source)
            continue
        if source == "d":
            scope[f"d{number}"] = _shown(default, show)
            items.append(f"d{number}")
            continue
        if not name.isidentifier():
            raise ValueError(f"field name {name!r} is not an identifier")
        if name in extra:  # extra wins over the table, as in ``build``
            scope[f"e{number}"] = extra[name]
            lines.append(f"    x{number} = x = e{number}")
        else:
            lines.append(f"    x{number} = x = t_{name}")
        for annotation_name in _enum_names(check):
            scope[annotation_name] = _enum_for(owner.model, name)
        lines.append(f"    if not {check}: return None")
        if show == "iso":
            items.append(f"iso_text(x{number})")
        elif show == "enum":
            items.append(f"(None if x{number} is None else x{number}._value_)")
        else:
            items.append(f"x{number}")
    params = ", ".join(f"{n}={n}" for n in scope)
    body = "\n".join(lines)
    source_text = f"def row(p, {params}):\n{body}\n    return ({', '.join(items)},)\n"
    exec(compile(source_text, f"<RowBuilder {owner.table.entity}>", "exec"), scope)
    fast: _Fast = scope["row"]
    return fast


def _enum_names(check: str) -> list[str]:
    return [word.rstrip(")") for word in check.split() if word.startswith("E_")]


def _enum_for(model: type[Record], name: str) -> type[enum.Enum]:
    annotation = model.model_fields[name].annotation
    options = typing.get_args(annotation) or (annotation,)
    return next(o for o in options if isinstance(o, type) and issubclass(o, enum.Enum))


def _shown(value: Any, show: str) -> Any:
    if show == "iso":
        return _iso(value)
    if show == "enum":
        return None if value is None else value.value
    return value
