"""Tools for adapters to map vendor payloads to core models *as data*.

An adapter's ``mapping.py`` declares one :class:`FieldTable` per entity: core field name ->
vendor key(s) and a converter. A wrong guess about a vendor's field name is then a one-line
fix, and reading is uniform: keys are matched case-insensitively, a missing optional field
is None, unknown vendor fields stay in ``raw``, and a value that cannot be converted
becomes a ``MalformedResponse`` naming the entity, the id and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pydantic

from mdmbridge.errors import MalformedResponse
from mdmbridge.models import Platform, Record

R = TypeVar("R", bound=Record)
Converter = Callable[[Any], Any]


def text(value: Any) -> str | None:
    """Vendor text: empty strings count as absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        raise ValueError(f"expected text, got {value!r}")
    return str(value)


def ident(value: Any) -> str | None:
    """An id of any vendor form (int, GUID, opaque string) as a string."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected an id, got {value!r}")
    return str(value)


def parent_ref(value: Any) -> str | None:
    """A reference where 0 means "none" (DuoSTATION's root group, 'no user')."""
    result = ident(value)
    return None if result in (None, "0") else result


def integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return int(value)


def number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def timestamp(value: Any) -> datetime | None:
    """ISO 8601; a time without zone is taken as UTC (both vendors document UTC)."""
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_PLATFORM_NAMES = {
    "ios": Platform.IOS,
    "iphone": Platform.IOS,
    "ipados": Platform.IPADOS,
    "android": Platform.ANDROID,
    "macos": Platform.MACOS,
    "osx": Platform.MACOS,
    "mac os x": Platform.MACOS,
    "tvos": Platform.TVOS,
    "windows": Platform.WINDOWS,
}


def platform(value: Any) -> Platform:
    if value is None:
        return Platform.UNKNOWN
    return _PLATFORM_NAMES.get(str(value).strip().lower(), Platform.UNKNOWN)


@dataclass(frozen=True)
class F:
    """One core field: the vendor keys to try, in order, and the converter."""

    keys: tuple[str, ...]
    convert: Converter = text

    def __init__(self, *keys: str, convert: Converter = text) -> None:
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "convert", convert)


def lower_keys(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in payload.items()}


# (core name, the payload's own key for it or None, converter, first declared key)
_Reader = tuple[tuple[str, str | None, Converter, str], ...]
_MAX_SHAPES = 256


class FieldTable:
    """Core field name -> :class:`F`. Reads payloads case-insensitively.

    Which payload key serves which field is worked out once per payload *shape* (its set
    of keys) and cached: every record of a listing has the same shape, so reading 200,000
    devices costs one key resolution, not 200,000.
    """

    def __init__(self, entity: str, fields: Mapping[str, F]) -> None:
        self.entity = entity
        self.fields = dict(fields)
        self._readers: dict[tuple[str, ...], _Reader] = {}

    def _reader(self, shape: tuple[str, ...]) -> _Reader:
        reader = self._readers.get(shape)
        if reader is None:
            by_lower = {str(key).lower(): key for key in shape}
            entries = []
            for name, spec in self.fields.items():
                found = next(
                    (by_lower[k.lower()] for k in spec.keys if k.lower() in by_lower), None
                )
                entries.append((name, found, spec.convert, spec.keys[0]))
            reader = tuple(entries)
            if len(self._readers) < _MAX_SHAPES:
                self._readers[shape] = reader
        return reader

    def read(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, key, convert, label in self._reader(tuple(payload)):
            raw_value = None if key is None else payload[key]
            try:
                out[name] = convert(raw_value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"field {name} ({label}={raw_value!r}): {exc}") from None
        return out


def build(
    model: type[R],
    table: FieldTable,
    payload: Any,
    *,
    tenant: str,
    vendor: str,
    extra: Mapping[str, Any] | None = None,
) -> R:
    """Vendor payload -> core model, with ``raw`` kept verbatim."""
    if not isinstance(payload, Mapping):
        raise MalformedResponse(
            f"expected a {table.entity} object, got {type(payload).__name__}",
            vendor=vendor,
            tenant=tenant,
        )
    try:
        values = table.read(payload)
        if extra:
            values.update(extra)
        return model(tenant=tenant, vendor=vendor, raw=dict(payload), **values)
    except (ValueError, pydantic.ValidationError) as exc:
        ref = lower_keys(payload).get("id")
        detail = _first_line(exc)
        raise MalformedResponse(
            f"{table.entity} {ref!r}: cannot read the vendor's payload: {detail}",
            vendor=vendor,
            tenant=tenant,
        ) from None


def _first_line(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "record"
        return f"{where}: {err['msg']}"
    return str(exc).splitlines()[0]
