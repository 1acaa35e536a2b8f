"""Reading what a DuoSTATION request carries: ids in the path, query values, the JSON body.

Every route reads its input through these helpers, so the simulator's rules for values
(see the "Decisions" block in the package docstring) are written once: integers from text,
GUIDs in any form ``uuid.UUID`` parses, case-insensitive body keys, strict JSON types.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from mdmbridge.simulation.server import BadRequest, SimRequest

from .answers import bad

_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def parse_int_text(text: str) -> int | None:
    """An integer written as text (sign allowed, spaces around ignored), else None."""
    stripped = text.strip()
    return int(stripped) if _INT_TEXT.fullmatch(stripped) else None


def parse_guid(text: str) -> str | None:
    """The lowercase 36-character form of a GUID in any form ``uuid.UUID`` reads, else None."""
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError):
        return None


def blank(value: str | None) -> bool:
    """True for None, empty or whitespace: what the vendor treats as "no value"."""
    return value is None or not value.strip()


def same(stored: str | None, wanted: str) -> bool:
    """Case-insensitive exact comparison of a stored string with a filter value."""
    return stored is not None and stored.strip().casefold() == wanted.casefold()


def is_http_url(text: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urllib.parse.urlsplit(text.strip())
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def query_text(request: SimRequest, name: str) -> str | None:
    """A query value, trimmed; empty values count as absent (ASP.NET binds them to null)."""
    value = request.arg(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def query_int(request: SimRequest, name: str) -> int | None:
    """An integer query value, or None when absent; anything else is a 400."""
    value = query_text(request, name)
    if value is None:
        return None
    parsed = parse_int_text(value)
    if parsed is None:
        raise bad(f"The value '{value}' is not valid for {name}; an integer is expected.")
    return parsed


def int_id(raw: str, what: str) -> int:
    """An integer id from the path; anything else is a 400."""
    value = parse_int_text(raw)
    if value is None:
        raise bad(f"The value '{raw}' is not a valid {what} id; an integer is expected.")
    return value


def guid_id(raw: str) -> str:
    """A device id (GUID) from the path, in its lowercase form; anything else is a 400."""
    value = parse_guid(raw)
    if value is None:
        raise bad(f"The value '{raw}' is not a valid device id; a GUID is expected.")
    return value


class Body:
    """A JSON object body whose keys are matched case-insensitively, with typed readers."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.raw: dict[str, Any] = dict(data)
        self._values = {key.lower(): value for key, value in data.items()}

    def has(self, name: str) -> bool:
        return name.lower() in self._values

    def value(self, name: str) -> Any:
        return self._values.get(name.lower())

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.value(name)
        if value is None:
            if required:
                raise bad(f"The field '{name}' is required.")
            return None
        if not isinstance(value, str):
            raise bad(f"The field '{name}' must be a string.")
        if required and not value.strip():
            raise bad(f"The field '{name}' is required and cannot be empty.")
        return value

    def integer(self, name: str, *, required: bool = False, allow_text: bool = False) -> int | None:
        value = self.value(name)
        if value is None:
            if required:
                raise bad(f"The field '{name}' is required.")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if allow_text and isinstance(value, str):
            parsed = parse_int_text(value)
            if parsed is not None:
                return parsed
        raise bad(f"The field '{name}' must be an integer.")

    def boolean(self, name: str) -> bool | None:
        value = self.value(name)
        if value is None or isinstance(value, bool):
            return value
        raise bad(f"The field '{name}' must be true or false.")


def read_body(request: SimRequest) -> Body:
    """The request's JSON object body; no body, bad JSON or a non-object is a 400."""
    try:
        data = request.json()
    except BadRequest as exc:
        raise bad(f"The request body is not valid JSON: {exc}") from exc
    if data is None:
        raise bad("The request body is empty; a JSON object is expected.")
    if not isinstance(data, dict):
        raise bad("The request body must be a JSON object.")
    return Body(data)
