"""What ``--where`` can test on an entity, and how each field compares: read from the
entity registry (:mod:`mdmbridge.entities`), so a field added to a model needs no change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from mdmbridge.entities import ENTITIES, Entity
from mdmbridge.errors import ValidationError
from mdmbridge.fields import is_enum, value_type

Kind = Literal["text", "id", "number", "boolean", "enum", "version", "timestamp"]
VERSION_FIELDS = frozenset({"os_version", "version_text"})


class WhereError(ValidationError):
    """A ``--where`` expression that cannot be used: a usage error (exit 2)."""


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
