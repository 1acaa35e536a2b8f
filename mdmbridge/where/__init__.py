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

from mdmbridge.where.conditions import Condition, Predicate, Where
from mdmbridge.where.kinds import VERSION_FIELDS, Kind, WhereError, describe_fields, field_kinds
from mdmbridge.where.parse import OPERATORS, ORDERING, parse_where, parse_where_for
from mdmbridge.where.values import DURATION_UNITS, parse_duration, parse_moment, parse_version

__all__ = [
    "DURATION_UNITS",
    "OPERATORS",
    "ORDERING",
    "VERSION_FIELDS",
    "Condition",
    "Kind",
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
