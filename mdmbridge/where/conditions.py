"""Evaluation: a parsed expression (:class:`Condition`) and all of them (:class:`Where`)
as predicates over records. Plain frozen dataclasses, so they pickle to export workers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mdmbridge.models import Record
from mdmbridge.where.kinds import Kind
from mdmbridge.where.values import _empty, _text, parse_version

Predicate = Callable[[Record], bool]


@dataclass(frozen=True)
class Condition:
    """One parsed expression: ``field op value``, ``value`` already in the field's terms
    (text casefolded; a version as numbers; a moment as ``(start, end, is_span)``; None for
    ``FIELD=`` / ``FIELD!=``)."""

    text: str
    field: str
    op: str
    kind: Kind
    value: Any

    def __call__(self, record: Record) -> bool:
        have = getattr(record, self.field, None)
        if self.value is None:  # FIELD= / FIELD!=: is (not) empty
            return _empty(have) is (self.op == "=")
        if have is None:
            return False
        if self.op == "~":
            return bool(self.value in _text(have).casefold())
        if self.kind == "timestamp":
            return isinstance(have, datetime) and _moment_holds(self.op, have, self.value)
        got = self._comparable(have)
        if got is None:
            return False
        return _ordered(self.op, got, self.value)

    def _comparable(self, have: Any) -> Any:
        kind = self.kind
        if kind == "text":
            return _text(have).strip().casefold()
        if kind == "id":
            return _text(have)
        if kind == "version":
            return parse_version(_text(have))
        if kind == "enum":
            return _text(have)
        if kind == "boolean":
            return have if isinstance(have, bool) else None
        if kind == "number":
            return None if isinstance(have, bool) else float(have)
        raise AssertionError(kind)


def _ordered(op: str, have: Any, want: Any) -> bool:
    if op == "=":
        return bool(have == want)
    if op == "!=":
        return bool(have != want)
    if op == "<":
        return bool(have < want)
    if op == "<=":
        return bool(have <= want)
    if op == ">":
        return bool(have > want)
    return bool(have >= want)


def _moment_holds(op: str, have: datetime, value: tuple[datetime, datetime, bool]) -> bool:
    start, end, span = value
    if not span:
        return _ordered(op, have, start)
    inside = start <= have < end
    return {
        "=": inside,
        "!=": not inside,
        "<": have < start,
        "<=": have < end,
        ">": have >= end,
        ">=": have >= start,
    }[op]


@dataclass(frozen=True)
class Where:
    """Parsed expressions over one entity; a predicate (all conditions must hold)."""

    entity: str
    conditions: tuple[Condition, ...] = ()

    def __call__(self, record: Record) -> bool:
        return all(condition(record) for condition in self.conditions)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.field for c in self.conditions))

    @property
    def matches_all(self) -> bool:
        return not self.conditions

    def __str__(self) -> str:
        return " and ".join(c.text for c in self.conditions) or "(everything)"
