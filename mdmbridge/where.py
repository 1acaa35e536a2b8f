"""``--where``: one small language to choose records, for ``find``, ``export`` and
``bulk plan``.

An expression is ``FIELD OP VALUE``; several must all hold::

    os_version<17.4        platform=ios        last_seen<30d        name~göteborg
    serial_number=C02XK3ABHG7F                  user_id=           battery_level<=20

Operators: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` and ``~`` (contains, case-insensitive).
Fields are the entity's model fields (``raw`` aside), so a field added to a model can be
chosen with no change here. How a value compares follows the field's type:

* text: case-insensitive (``name=anna`` holds for "Anna"), surrounding spaces ignored;
  ids (``id``, ``*_id``) exactly, case and all;
* ``os_version`` (and an app's ``version_text``): as a version, number by number:
  ``os_version<17.4`` holds for 17.3.1 and not for 17.10; 17.4 equals 17.4.0; of a value
  such as "17.4.1 (21E237)" or "14-beta" only the leading numbers count;
* numbers as numbers; booleans (``=``/``!=`` only) from true/false, yes/no, 1/0;
* enums (``platform``, an app's ``store``, a link's ``target``) by their value, ``=`` and
  ``!=`` only; an unknown value is refused, listing the known ones;
* timestamps (``last_seen``) with an ISO date or time, or a duration meaning "that long
  ago": ``last_seen<30d`` is "last seen more than 30 days ago", ``last_seen>=12h`` "within
  the last 12 hours" (units ``s m h d w``; ``<``/``<=``/``>``/``>=`` only). A date is the
  whole day in UTC: ``last_seen=2024-05-01`` holds all that day, ``<2024-05-01`` before
  it, ``<=2024-05-01`` up to its end. A time without a zone is UTC. "Now" is taken once,
  when the expressions are parsed, so every tenant of a run uses the same cut-off.

A field with no value (None) never satisfies a comparison, ``!=`` included (as in SQL):
``user_id!=42`` does not hold for a device without a user. ``FIELD=`` with nothing after
it means "is empty" (None, or blank text) and ``FIELD!=`` "is not empty". ``~`` matches
the text form (an enum's value, a number's digits, an ISO timestamp).

An expression may name its entity (``devices.os_version<17``): ``export`` applies an
unprefixed expression to every entity it exports (each must have the field) and a prefixed
one to that entity only. Every mistake (no operator, an unknown field or operator, a value
of the wrong kind) is a :class:`WhereError`, a ``ValidationError``: exit 2, naming the
expression and, for a field, listing the valid ones.

A parsed :class:`Where` is a plain, picklable value (it travels to export worker
processes) and a predicate: ``where(record) -> bool``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from mdmbridge.entities import ENTITIES, Entity
from mdmbridge.errors import ValidationError
from mdmbridge.fields import is_enum, value_type
from mdmbridge.models import Record

Predicate = Callable[[Record], bool]
Kind = Literal["text", "id", "number", "boolean", "enum", "version", "timestamp"]
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "~")
ORDERING = ("<", "<=", ">", ">=")
VERSION_FIELDS = frozenset({"os_version", "version_text"})
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_EXPRESSION = re.compile(
    r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_.-]*)\s*(?P<op>[!=<>~]+)\s*(?P<value>.*?)\s*$",
    re.DOTALL,
)
_VERSION_GIVEN = re.compile(r"v?(\d+(?:\.\d+)*)", re.IGNORECASE)
_VERSION_LEADING = re.compile(r"\s*v?(\d+(?:\.\d+)*)", re.IGNORECASE)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


class WhereError(ValidationError):
    """A ``--where`` expression that cannot be used: a usage error (exit 2)."""


# --------------------------------------------------------------------------- fields


def field_kinds(entity: Entity | str) -> dict[str, Kind]:
    """Every field ``--where`` can test on the entity, with how it compares."""
    spec = _entity(entity)
    kinds: dict[str, Kind] = {}
    for column in spec.columns:
        if column.kind == "json":  # raw: the vendor's payload, not a field
            continue
        name = column.name
        if name in VERSION_FIELDS:
            kinds[name] = "version"
        elif column.enum:
            kinds[name] = "enum"
        elif column.kind in ("integer", "real"):
            kinds[name] = "number"
        elif column.kind == "boolean":
            kinds[name] = "boolean"
        elif column.kind == "timestamp":
            kinds[name] = "timestamp"
        elif name == "id" or name.endswith("_id"):
            kinds[name] = "id"
        else:
            kinds[name] = "text"
    return kinds


def _entity(entity: Entity | str) -> Entity:
    if isinstance(entity, Entity):
        return entity
    spec = ENTITIES.get(entity)
    if spec is None:
        raise WhereError(f"--where: unknown entity {entity!r} (entities: {', '.join(ENTITIES)})")
    return spec


def _enum_values(spec: Entity, field: str) -> dict[str, Any]:
    """value -> member, for an enum field (``UNKNOWN`` included: ``platform=unknown``)."""
    kind = value_type(spec.model.model_fields[field].annotation)
    assert is_enum(kind), field
    return {member.value: member for member in kind}


# --------------------------------------------------------------------------- values


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """A record's version: its leading numbers (``17.4.1 (21E237)`` -> (17, 4, 1)), trailing
    zeros dropped (17.0 == 17); None when it has none."""
    if text is None:
        return None
    match = _VERSION_LEADING.match(str(text))
    if match is None:
        return None
    return _trimmed(match.group(1))


def _trimmed(dotted: str) -> tuple[int, ...]:
    numbers = [int(part) for part in dotted.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def parse_duration(text: str) -> timedelta | None:
    """``30d``, ``12h``, ``1.5w`` -> a timedelta; None when ``text`` is not one."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    return timedelta(seconds=float(match.group(1)) * DURATION_UNITS[match.group(2).lower()])


def parse_moment(text: str, *, now: datetime) -> tuple[datetime, datetime, bool]:
    """A timestamp value -> (start, end, is_span): a date is the day ``[start, end)`` in
    UTC; a time or a duration ago is one instant (``start == end``). Raises ValueError."""
    ago = parse_duration(text)
    if ago is not None:
        moment = now - ago
        return moment, moment, False
    if _DATE.fullmatch(text):
        day = date.fromisoformat(text)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, start + timedelta(days=1), True
    moment = datetime.fromisoformat(text)  # Python 3.11: "Z", offsets, a space for "T"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, moment, False


def _text(value: Any) -> str:
    """The text form ``~`` searches."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(getattr(value, "value", value))


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------- conditions


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


# --------------------------------------------------------------------------- parsing


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


def describe_fields(entity: Entity | str) -> Mapping[str, str]:
    """field -> how it compares, for help texts and error messages."""
    words = {
        "text": "text, case-insensitive",
        "id": "id, exact",
        "number": "number",
        "boolean": "true/false",
        "enum": "one of a set of values",
        "version": "version (17.4 < 17.10)",
        "timestamp": "time: ISO date/time or a duration ago (30d)",
    }
    return {name: words[kind] for name, kind in field_kinds(entity).items()}


__all__ = [
    "OPERATORS",
    "Condition",
    "Predicate",
    "Where",
    "WhereError",
    "describe_fields",
    "field_kinds",
    "parse_duration",
    "parse_moment",
    "parse_version",
    "parse_where",
    "parse_where_for",
]
