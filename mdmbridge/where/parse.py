"""Parsing: ``FIELD OP VALUE`` text into :class:`~mdmbridge.where.conditions.Where`, each
value checked against its field's kind, every mistake one :class:`WhereError` line."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mdmbridge.entities import ENTITIES, Entity
from mdmbridge.where.conditions import Condition, Where
from mdmbridge.where.kinds import WhereError, _entity, _enum_values, field_kinds
from mdmbridge.where.values import _trimmed, parse_duration, parse_moment

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "~")
ORDERING = ("<", "<=", ">", ">=")

_EXPRESSION = re.compile(
    r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_.-]*)\s*(?P<op>[!=<>~]+)\s*(?P<value>.*?)\s*$",
    re.DOTALL,
)
_VERSION_GIVEN = re.compile(r"v?(\d+(?:\.\d+)*)", re.IGNORECASE)
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def parse_where(
    exprs: Sequence[str] | str, entity: Entity | str, *, now: datetime | None = None
) -> Where:
    """``exprs`` over records of ``entity`` (a name such as ``"devices"``, or the
    registry's :class:`~mdmbridge.entities.Entity`): a :class:`Where` that holds when every
    expression does. ``now`` fixes "that long ago" (default: the current time, UTC).
    Raises :class:`WhereError` naming the expression and what is wrong with it."""
    spec = _entity(entity)
    moment = now or datetime.now(UTC)
    given = [exprs] if isinstance(exprs, str) else list(exprs)
    return Where(spec.name, tuple(_condition(expr, spec, moment) for expr in given))


def parse_where_for(
    exprs: Sequence[str], entities: Sequence[Entity | str], *, now: datetime | None = None
) -> dict[str, Where]:
    """For a command over several entities (``export``): entity name -> its
    :class:`Where`. A prefixed expression (``devices.os_version<17``) applies to that
    entity, which must be among ``entities``; an unprefixed one to each of them, and each
    must have its field."""
    specs = [_entity(e) for e in entities]
    moment = now or datetime.now(UTC)
    chosen: dict[str, list[str]] = {spec.name: [] for spec in specs}
    for expr in exprs:
        named = _prefix(expr)
        if named is not None:
            if named.name not in chosen:
                raise WhereError(
                    f"--where {expr!r}: {named.name} are not among the entities "
                    f"({', '.join(chosen)})"
                )
            chosen[named.name].append(expr)
            continue
        field = _field_of(expr)
        lacking = [s.name for s in specs if field is not None and field not in field_kinds(s)]
        if lacking and len(lacking) < len(specs):
            having = next(s.name for s in specs if s.name not in lacking)
            raise WhereError(
                f"--where {expr!r}: {', '.join(lacking)} have no field {field!r}; name the "
                f"entity it is about ({having}.{expr.strip()}) or export fewer entities"
            )
        for spec in specs:
            chosen[spec.name].append(expr)
    return {
        spec.name: Where(spec.name, tuple(_condition(e, spec, moment) for e in chosen[spec.name]))
        for spec in specs
    }


def _prefix(expr: str) -> Entity | None:
    """The entity an expression names (``devices.`` or ``device.``), if any."""
    match = _EXPRESSION.match(expr)
    if match is None or "." not in match.group("field"):
        return None
    head = match.group("field").split(".", 1)[0].lower()
    for spec in ENTITIES.values():
        if head in (spec.name, spec.singular.replace(" ", "_")):
            return spec
    return None


def _field_of(expr: str) -> str | None:
    match = _EXPRESSION.match(expr)
    return None if match is None else _field_name(match.group("field"))


def _field_name(raw: str) -> str:
    return raw.strip().lower().replace("-", "_")


def _condition(expr: str, spec: Entity, now: datetime) -> Condition:
    if not isinstance(expr, str):
        raise WhereError(f"--where: expected text, not {type(expr).__name__}")
    match = _EXPRESSION.match(expr)
    if match is None:
        raise WhereError(
            f"--where {expr!r}: expected FIELD OP VALUE, OP one of {' '.join(OPERATORS)} "
            "(such as os_version<17.4)"
        )
    field, op, raw = match.group("field"), match.group("op"), match.group("value")
    if "." in field:
        named = _prefix(expr)
        if named is None:
            raise WhereError(
                f"--where {expr!r}: {field.split('.', 1)[0]!r} is not an entity "
                f"(entities: {', '.join(ENTITIES)})"
            )
        if named is not spec:
            raise WhereError(f"--where {expr!r}: this is about {named.name}, not {spec.name}")
        field = field.split(".", 1)[1]
    field = _field_name(field)
    kinds = field_kinds(spec)
    if field not in kinds:
        raise WhereError(
            f"--where {expr!r}: {spec.name} have no field {field!r} "
            f"(fields: {', '.join(sorted(kinds))})"
        )
    if op not in OPERATORS:
        raise WhereError(
            f"--where {expr!r}: unknown operator {op!r} (operators: {' '.join(OPERATORS)})"
        )
    kind = kinds[field]
    shown = expr.strip()

    def refuse(reason: str) -> WhereError:
        return WhereError(f"--where {shown!r}: {field} {reason}")

    if raw == "":
        if op in ("=", "!="):
            return Condition(shown, field, op, kind, None)
        raise refuse(f"needs a value after {op!r} (only = and != test for empty)")
    if op == "~":
        return Condition(shown, field, op, kind, raw.casefold())
    value: Any
    if kind == "text":
        value = raw.casefold()
    elif kind == "id":
        value = raw
    elif kind == "version":
        given = _VERSION_GIVEN.fullmatch(raw)
        if given is None:
            raise refuse(f"is compared as a version; {raw!r} is not one (such as 17.4)")
        value = _trimmed(given.group(1))
    elif kind == "number":
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise refuse(f"is a number; {raw!r} is not one")
    elif kind == "boolean":
        if op not in ("=", "!="):
            raise refuse("is true or false: use = or !=")
        folded = raw.casefold()
        if folded not in _TRUE | _FALSE:
            raise refuse(f"is true or false; {raw!r} is neither (true/false, yes/no, 1/0)")
        value = folded in _TRUE
    elif kind == "enum":
        if op not in ("=", "!="):
            raise refuse("is one of a set of values: use =, != or ~")
        members = _enum_values(spec, field)
        folded = raw.casefold()
        if folded not in members:
            raise refuse(f"is one of {', '.join(members)}; not {raw!r}")
        value = members[folded].value
    else:  # timestamp
        try:
            value = parse_moment(raw, now=now)
        except ValueError:
            raise refuse(
                f"is a time; {raw!r} is neither an ISO date or time (2024-05-01, "
                "2024-05-01T08:00Z) nor a duration ago (30d, 12h; units s m h d w)"
            ) from None
        if parse_duration(raw) is not None and op in ("=", "!="):
            raise refuse(f"with a duration ({raw}) takes < <= > >= (= would be one instant)")
    return Condition(shown, field, op, kind, value)
