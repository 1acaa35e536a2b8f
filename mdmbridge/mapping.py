"""Tools for adapters to map vendor payloads to core models *as data*.

An adapter's ``mapping.py`` declares one :class:`FieldTable` per entity: core field name ->
vendor key(s) and a converter. A wrong guess about a vendor's field name is then a one-line
fix, and reading is uniform: keys are matched case-insensitively, a missing optional field
is None, unknown vendor fields stay in ``raw``, and a value that cannot be converted
becomes a ``MalformedResponse`` naming the entity, the id and the field.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pydantic

from mdmbridge.errors import MalformedResponse, excerpt
from mdmbridge.mapping_compile import Converter as Converter
from mdmbridge.mapping_compile import _compile, _Compiled, _Reader
from mdmbridge.mapping_compile import expressions as expressions
from mdmbridge.mapping_compile import keeps_text as keeps_text
from mdmbridge.mapping_compile import pure as pure
from mdmbridge.models import Platform, Record

R = TypeVar("R", bound=Record)

# [decision] Limits on what a vendor's number may be. An integer field (a battery level,
# a size, a version number, an enum code) holds a signed 64-bit value: a vendor's database
# cannot store more, so a larger one is a broken answer, not data. An integer id may be
# longer (ezmdm's are 30 digits), up to the 128 characters an ezmdm id may have; so may a
# number in a text field.
MAX_INTEGER = 2**63 - 1
MAX_ID_DIGITS = 128
VALUE_EXCERPT_CHARS = 80
DETAIL_EXCERPT_CHARS = 200

_INT_TEXT = re.compile(r"\s*[+-]?[0-9]{1,19}\s*", re.ASCII)
_NUMBER_TEXT = re.compile(
    r"\s*[+-]?([0-9]{1,400}(\.[0-9]{0,400})?|\.[0-9]{1,400})([eE][+-]?[0-9]{1,4})?\s*", re.ASCII
)
_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = VALUE_EXCERPT_CHARS
_REPR.maxother = VALUE_EXCERPT_CHARS
_REPR.maxlong = 40


def describe(value: Any, limit: int = VALUE_EXCERPT_CHARS) -> str:
    """A short, one-line, never-failing ``repr`` of a vendor value, for messages.

    ``repr`` itself can fail on what a vendor sends: an integer of thousands of digits
    (Python's limit on int-to-text conversion) or a structure nested too deep. Those, and
    long texts and big structures, come out as a bounded excerpt."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<an integer of {value.bit_length()} bits>"
    try:
        shown = _REPR.repr(value)
    except Exception:  # RecursionError, the int digit limit, a hostile __repr__
        shown = f"<a {type(value).__name__} that cannot be shown>"
    return excerpt(shown, limit)


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _checked_int(value: int) -> int:
    if not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
        raise ValueError("out of range (more than 64 bits)")
    return value


def text(value: Any) -> str | None:
    """Vendor text: empty strings count as absent. A number is taken as its text (a
    DuoSTATION group number may come as 4711); anything else is refused."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"expected text, got {_kind(value)}")
    if isinstance(value, int):
        return _long_int_text(value)
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value.adjusted()) > 400:
            raise ValueError("not a finite number")
        return str(value)
    return str(_finite(value))


def ident(value: Any) -> str | None:
    """An id of any vendor form (int, GUID, opaque string) as a string."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected an id, got {_kind(value)}")
    return _long_int_text(value) if isinstance(value, int) else value


def _kind(value: Any) -> str:
    """What a value is, for a message: a kind for structures, an excerpt for scalars."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    return describe(value)


def _long_int_text(value: int) -> str:
    """An integer as text, up to :data:`MAX_ID_DIGITS` digits (never near Python's limit
    on int-to-text conversion)."""
    if value.bit_length() > MAX_ID_DIGITS * 4 or len(digits := str(value)) > MAX_ID_DIGITS:
        raise ValueError(f"an integer longer than {MAX_ID_DIGITS} digits")
    return digits


def parent_ref(value: Any) -> str | None:
    """A reference where 0 means "none" (DuoSTATION's root group, 'no user')."""
    result = ident(value)
    return None if result in (None, "0") else result


def integer(value: Any) -> int | None:
    """A whole number within 64 bits: a JSON integer, an integral float (``88.0``) or
    ASCII decimal digits (``"88"``). Infinity, NaN, fractions (``88.5``, never truncated),
    booleans and larger values are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return _checked_int(value)
    if isinstance(value, float):
        if not _finite(value).is_integer():
            raise ValueError(f"expected an integer, got {describe(value)}")
        return _checked_int(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite number")
        if value.adjusted() > 19:
            raise ValueError("out of range (more than 64 bits)")
        if value != value.to_integral_value():
            raise ValueError(f"expected an integer, got {describe(value)}")
        return _checked_int(int(value))
    if isinstance(value, str):
        if not _INT_TEXT.fullmatch(value):
            raise ValueError(f"expected an integer, got {describe(value)}")
        return _checked_int(int(value))
    raise ValueError(f"expected an integer, got {_kind(value)}")


def number(value: Any) -> float | None:
    """A finite number: a JSON number or its ASCII text. Infinity, NaN, a value beyond a
    float's range (``1e400``) and booleans are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str) and not _NUMBER_TEXT.fullmatch(value):
        raise ValueError(f"expected a number, got {describe(value)}")
    if not isinstance(value, (int, float, Decimal, str)):
        raise ValueError(f"expected a number, got {_kind(value)}")
    try:
        return _finite(float(value))
    except OverflowError:  # an integer too large for a float
        raise ValueError("not a finite number") from None


def timestamp(value: Any) -> datetime | None:
    """ISO 8601 text; a time without zone is taken as UTC (both vendors document UTC)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(f"expected an ISO 8601 time, got {_kind(value)}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
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


@pure
def platform(value: Any) -> Platform:
    """A platform name; anything else (a number, an unknown name) is UNKNOWN."""
    if not isinstance(value, str):
        return Platform.UNKNOWN
    return _PLATFORM_NAMES.get(value.strip().lower(), Platform.UNKNOWN)


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


_MAX_SHAPES = 256


class FieldTable:
    """Core field name -> :class:`F`. Reads payloads case-insensitively.

    Which payload key serves which field is worked out once per payload *shape* (its set
    of keys) and cached: every record of a listing has the same shape, so reading 200,000
    devices costs one key resolution, not 200,000. For each shape the resolution is also
    compiled into one straight-line function (:func:`_compile`): a loop over the fields
    with a ``try`` and a call per field cost about 4.4 µs a device, the compiled form a
    third of that. The compiled form only ever succeeds where the loop would give the same
    values; any failure reads the payload again with the loop, which words the error.
    """

    def __init__(self, entity: str, fields: Mapping[str, F]) -> None:
        self.entity = entity
        self.fields = dict(fields)
        self._readers: dict[tuple[str, ...], tuple[_Reader, _Compiled]] = {}

    def _reader(self, shape: tuple[str, ...]) -> tuple[_Reader, _Compiled]:
        known = self._readers.get(shape)
        if known is None:
            by_lower = {str(key).lower(): key for key in shape}
            entries = []
            for name, spec in self.fields.items():
                found = next(
                    (by_lower[k.lower()] for k in spec.keys if k.lower() in by_lower), None
                )
                entries.append((name, found, spec.convert, spec.keys[0]))
            reader = tuple(entries)
            known = (reader, _compile(reader))
            if len(self._readers) < _MAX_SHAPES:
                self._readers[shape] = known
        return known

    def expressions_for(
        self, shape: tuple[str, ...]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The compiled reader's parts for one payload shape (its keys, in order), for code
        that compiles its own reader (``typed_rows``): see :func:`expressions`."""
        return expressions(self._reader(shape)[0])

    def read(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        reader, compiled = self._reader(tuple(payload))
        try:
            return compiled(payload)
        except Exception:  # the loop below says which field, and why
            return _read_each(reader, payload)


def _read_each(reader: _Reader, payload: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key, convert, label in reader:
        raw_value = None if key is None else payload[key]
        try:
            out[name] = convert(raw_value)
        except Exception as exc:  # any converter failure is the payload's fault
            raise ValueError(
                f"field {name} ({label}={describe(raw_value)}): {_detail(exc)}"
            ) from None
    return out


def build(
    model: type[R],
    table: FieldTable,
    payload: Any,
    *,
    tenant: str,
    vendor: str,
    extra: Mapping[str, Any] | None = None,
    redact: Callable[[str], str] | None = None,
) -> R:
    """Vendor payload -> core model, with ``raw`` kept verbatim.

    ``redact`` (the transport's) hides secrets in an error about the payload: a vendor that
    echoes a credential into a field must not leak it through "cannot read ...". Values are
    redacted whole before they are cut to an excerpt, so no cut can split a secret."""
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
        # pydantic copies a dict into the model's own; a Mapping of another kind is copied here.
        raw = payload if type(payload) is dict else dict(payload)
        return model(tenant=tenant, vendor=vendor, raw=raw, **values)
    except Exception as exc:
        # Whatever a converter or the model raised (ValueError, OverflowError,
        # RecursionError, pydantic's ValidationError, ...), the caller sees one
        # MalformedResponse, one short line: values are excerpted, never quoted whole.
        shown = payload if redact is None else _redacted(payload, redact)
        message = f"{table.entity} {_record_ref(shown)}: cannot read the vendor's payload: "
        detail = _detail(exc) if redact is None else _detail_of(table, shown, extra, exc)
        raise MalformedResponse(
            message + (detail if redact is None else redact(detail)),
            vendor=vendor,
            tenant=tenant,
        ) from None


def _redacted(payload: Mapping[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    return {
        (redact(k) if isinstance(k, str) else k): (redact(v) if isinstance(v, str) else v)
        for k, v in payload.items()
    }


def _detail_of(
    table: FieldTable, payload: Mapping[str, Any], extra: Mapping[str, Any] | None, first: Exception
) -> str:
    """The error of reading the redacted payload again (the same field fails, now showing
    only redacted text); the first error's text if the redacted copy reads cleanly."""
    try:
        table.read(payload)
    except Exception as exc:
        return _detail(exc)
    return _detail(first)


def _record_ref(payload: Mapping[str, Any]) -> str:
    """The record's id as the vendor sent it, for a message (it may be hostile too)."""
    try:
        ref = next((v for k, v in payload.items() if str(k).lower() == "id"), None)
    except Exception:
        return "<unknown id>"
    return describe(ref)


def _detail(exc: BaseException) -> str:
    """The first line of an error, bounded; pydantic's errors as ``field: message``."""
    try:
        if isinstance(exc, pydantic.ValidationError):
            err = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in err["loc"]) or "record"
            line = f"{where}: {err['msg']}"
        else:
            lines = str(exc).splitlines()
            line = lines[0] if lines else type(exc).__name__
            if not isinstance(exc, ValueError):
                line = f"{type(exc).__name__}: {line}"
    except Exception:
        line = type(exc).__name__
    return excerpt(line, DETAIL_EXCERPT_CHARS)
