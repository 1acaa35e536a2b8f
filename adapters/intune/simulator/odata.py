"""The OData subset the simulator speaks: Graph's error type, ``$filter``, ``$select``,
``$top``, ``$orderby`` and the opaque ``$skiptoken``.

Graph has two error dialects on the endpoints we serve: the directory (users, groups) says
``Request_BadRequest`` / ``Request_ResourceNotFound`` / ``Request_UnsupportedQuery``; Intune
says ``BadRequest`` / ``ResourceNotFound`` and wraps its message in a JSON text. A
:class:`Resource` knows its dialect, so every check below raises the right one.

Where Microsoft's pages are silent, choices are marked **[sim decision]**. The error type and
:class:`Resource` are in ``resource.py``, ``$filter`` in ``odata_filter.py``; this module
re-exports them beside ``$select``, ``$top``, ``$orderby`` and the skiptokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .odata_filter import FilterSyntaxError, Node, _fold, check_filter, matches, parse_filter
from .resource import ADVANCED_HINT, DIRECTORY, INTUNE, GraphError, Record, Resource, intune_message

__all__ = [
    "ADVANCED_HINT",
    "DIRECTORY",
    "INTUNE",
    "Cursor",
    "FilterSyntaxError",
    "GraphError",
    "Node",
    "Record",
    "Resource",
    "SkipTokens",
    "check_filter",
    "intune_message",
    "matches",
    "parse_filter",
    "parse_orderby",
    "parse_select",
    "parse_top",
    "project",
    "query_fingerprint",
    "sort_key",
]


# ------------------------------------------------------------------------------ $select etc.


def parse_select(text: str | None, resource: Resource) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise resource.bad_request("Invalid $select: no property given.")
    for name in names:
        if name not in resource.properties:
            raise resource.unknown_property(name)
    return names


def parse_top(text: str | None, resource: Resource, *, default: int, maximum: int) -> int:
    if text is None:
        return default
    if not text.isascii() or not text.isdigit():
        raise resource.bad_request(f"Invalid value '{text}' for query option '$top'.")
    value = int(text)
    if resource.dialect == DIRECTORY:
        if not 1 <= value <= maximum:
            raise resource.bad_request(
                f"Invalid page size specified: '{value}'. "
                f"Must be between 1 and {maximum} inclusive."
            )
        return value
    # [sim decision] Intune: 0 is refused, anything above the maximum is served as the maximum
    if value < 1:
        raise resource.bad_request(f"Invalid value '{text}' for query option '$top'.")
    return min(value, maximum)


def parse_orderby(text: str | None, resource: Resource) -> tuple[str, bool] | None:
    """``(property, descending)``; one property only [sim decision]."""
    if text is None:
        return None
    parts = text.split()
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in {"asc", "desc"}):
        raise resource.bad_request(f"Invalid $orderby clause: '{text}'.")
    prop = parts[0]
    if prop not in resource.properties:
        raise resource.unknown_property(prop)
    if prop not in resource.orderable:
        raise resource.unsupported(
            f"Unsupported sort property '{prop}' for '{resource.label or resource.name}'."
        )
    return prop, len(parts) == 2 and parts[1].lower() == "desc"


def sort_key(prop: str) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        value = record.get(prop)
        return (1, "") if value is None else (0, _fold(value))

    return key


def project(
    record: Record, names: Iterable[str], *, hidden: Mapping[str, Any] | None = None
) -> Record:
    """The record reduced to ``names`` (in that order); ``hidden`` overrides values."""
    out: Record = {}
    for name in names:
        if hidden is not None and name in hidden:
            out[name] = hidden[name]
        else:
            out[name] = record.get(name)
    return out


# ------------------------------------------------------------------------------ $skiptoken

_TOKEN_PREFIX = b"DSpt\x02\x00\x01"  # so tokens begin "RFNwdAIAAQ", like the directory's


@dataclass(frozen=True)
class Cursor:
    collection: str
    position: int  # next position in the collection, or the offset into a sorted listing
    query: str  # fingerprint of the query options the token belongs to


class SkipTokens:
    """Opaque, HMAC-signed ``$skiptoken`` values: forged or reused elsewhere is a 400."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, cursor: Cursor) -> str:
        raw = json.dumps([cursor.collection, cursor.position, cursor.query]).encode()
        mac = hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(_TOKEN_PREFIX + raw + mac).decode().rstrip("=")

    def decode(self, token: str, resource: Resource) -> Cursor:
        invalid = resource.bad_request(f"The $skiptoken '{token[:40]}' is invalid.")
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise invalid from None
        if not blob.startswith(_TOKEN_PREFIX) or len(blob) < len(_TOKEN_PREFIX) + 13:
            raise invalid
        raw, mac = blob[len(_TOKEN_PREFIX) : -12], blob[-12:]
        expected = hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, expected):
            raise invalid
        try:
            collection, position, query = json.loads(raw)
        except (ValueError, TypeError):
            raise invalid from None
        if not isinstance(position, int) or not isinstance(query, str):
            raise invalid
        return Cursor(str(collection), position, query)


def query_fingerprint(query: Mapping[str, list[str]]) -> str:
    """What a skiptoken is bound to: every query option but the skiptoken itself."""
    items = sorted(
        (key.lstrip("$").lower(), value)
        for key, values in query.items()
        if key.lstrip("$").lower() != "skiptoken"
        for value in values
    )
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]
