"""The OData subset the simulator speaks: Graph's error type, ``$filter``, ``$select``,
``$top``, ``$orderby`` and the opaque ``$skiptoken``.

Graph has two error dialects on the endpoints we serve: the directory (users, groups) says
``Request_BadRequest`` / ``Request_ResourceNotFound`` / ``Request_UnsupportedQuery``; Intune
says ``BadRequest`` / ``ResourceNotFound`` and wraps its message in a JSON text. A
:class:`Resource` knows its dialect, so every check below raises the right one.

Where Microsoft's pages are silent, choices are marked **[sim decision]**.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]

DIRECTORY = "directory"
INTUNE = "intune"

ADVANCED_HINT = (
    "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
    "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
)


class GraphError(Exception):
    """An error answer: ``{"error": {"code", "message", "innerError"}}`` with ``status``."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def intune_message(text: str, activity_id: str, url: str) -> str:
    """Intune's error ``message``: a JSON document as text, CRLF-indented, as observed."""
    inner = {
        "_version": 3,
        "Message": (
            f"{text} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000"
            f" - Activity ID: {activity_id} - Url: {url}"
        ),
        "CustomApiErrorPhrase": "",
        "RetryAfter": None,
        "ErrorSourceService": "",
        "HttpHeaders": "{}",
    }
    return json.dumps(inner, indent=2).replace("\n", "\r\n")


@dataclass(frozen=True)
class Resource:
    """What the simulator knows of one entity type, for query checks and errors."""

    name: str  # "user", "group", "managedDevice", "mobileApp", "directoryObject"
    label: str  # the directory's resource name in messages: "User", "Group"
    dialect: str
    properties: frozenset[str]
    # property -> operators usable without advanced query parameters
    default_filter: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # property -> operators usable only with ConsistencyLevel: eventual and $count=true
    advanced_filter: Mapping[str, frozenset[str]] = field(default_factory=dict)
    orderable: frozenset[str] = frozenset()

    @property
    def odata_type(self) -> str:
        return f"microsoft.graph.{self.name}"

    def bad_request(self, message: str) -> GraphError:
        code = "Request_BadRequest" if self.dialect == DIRECTORY else "BadRequest"
        return GraphError(400, code, message)

    def unsupported(self, message: str) -> GraphError:
        code = "Request_UnsupportedQuery" if self.dialect == DIRECTORY else "BadRequest"
        return GraphError(400, code, message)

    def unknown_property(self, name: str) -> GraphError:
        return self.bad_request(
            f"Could not find a property named '{name}' on type '{self.odata_type}'."
        )


# ------------------------------------------------------------------------------ $filter

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
      | (?P<name>[A-Za-z_][A-Za-z0-9_./]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_FUNCTIONS = frozenset({"startswith", "endswith", "contains"})
# [sim decision] operators that always need advanced query parameters on directory objects
_ADVANCED_OPERATORS = frozenset({"ne", "not", "endswith"})

Node = tuple[Any, ...]


class FilterSyntaxError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterSyntaxError(f"syntax error at position {position} in '{text}'")
        position = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            out.append(("literal", raw[1:-1].replace("''", "'")))
        elif kind == "number":
            out.append(("literal", float(raw) if "." in raw else int(raw)))
        elif kind == "guid":
            out.append(("literal", raw))
        elif kind == "punct":
            out.append((raw, raw))
        else:
            lowered = raw.lower()
            if lowered in {"true", "false"}:
                out.append(("literal", lowered == "true"))
            elif lowered == "null":
                out.append(("literal", None))
            elif lowered in _COMPARISONS or lowered in {"and", "or", "not", "in"}:
                out.append(("op", lowered))
            else:
                out.append(("name", raw))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = _tokens(text)
        self.at = 0

    def parse(self) -> Node:
        if not self.items:
            raise FilterSyntaxError("the filter is empty")
        node = self._or()
        if self.at != len(self.items):
            raise FilterSyntaxError(f"unexpected '{self.items[self.at][1]}' in '{self.text}'")
        return node

    def _peek(self) -> tuple[str, Any] | None:
        return self.items[self.at] if self.at < len(self.items) else None

    def _take(self, kind: str, value: Any = None) -> Any:
        item = self._peek()
        if item is None or item[0] != kind or (value is not None and item[1] != value):
            expected = value if value is not None else kind
            found = "the end" if item is None else f"'{item[1]}'"
            raise FilterSyntaxError(f"expected {expected}, found {found} in '{self.text}'")
        self.at += 1
        return item[1]

    def _or(self) -> Node:
        node = self._and()
        while self._peek() == ("op", "or"):
            self.at += 1
            node = ("or", node, self._and())
        return node

    def _and(self) -> Node:
        node = self._unary()
        while self._peek() == ("op", "and"):
            self.at += 1
            node = ("and", node, self._unary())
        return node

    def _unary(self) -> Node:
        if self._peek() == ("op", "not"):
            self.at += 1
            return ("not", self._unary())
        return self._primary()

    def _primary(self) -> Node:
        item = self._peek()
        if item is not None and item[0] == "(":
            self.at += 1
            node = self._or()
            self._take(")")
            return node
        name = self._take("name")
        if self._peek() == ("(", "("):
            function = name.lower()
            if function not in _FUNCTIONS:
                raise FilterSyntaxError(f"unknown function '{name}'")
            self.at += 1
            prop = self._take("name")
            self._take(",")
            value = self._take("literal")
            self._take(")")
            return ("func", function, prop, value)
        operator = self._take("op")
        if operator == "in":
            self._take("(")
            values = [self._take("literal")]
            while self._peek() == (",", ","):
                self.at += 1
                values.append(self._take("literal"))
            self._take(")")
            return ("in", name, tuple(values))
        if operator not in _COMPARISONS:
            raise FilterSyntaxError(f"'{operator}' is not a comparison")
        return ("cmp", operator, name, self._take("literal"))


def parse_filter(text: str, resource: Resource) -> Node:
    try:
        return _Parser(text).parse()
    except FilterSyntaxError as exc:
        raise resource.bad_request(f"Invalid filter clause: {exc}") from None


def _uses(node: Node) -> Iterable[tuple[str, str]]:
    """(operator, property) pairs in a filter; ``not`` is reported with an empty property."""
    kind = node[0]
    if kind in {"and", "or"}:
        yield from _uses(node[1])
        yield from _uses(node[2])
    elif kind == "not":
        yield ("not", "")
        yield from _uses(node[1])
    elif kind == "cmp":
        yield (node[1], node[2])
    elif kind == "in":
        yield ("in", node[1])
    else:
        yield (node[1], node[2])


def check_filter(node: Node, resource: Resource, *, advanced: bool) -> None:
    """Refuse what Graph refuses: unknown properties, and advanced-only queries without
    ``ConsistencyLevel: eventual`` + ``$count=true`` (directory only)."""
    for operator, prop in _uses(node):
        if operator == "not":
            if resource.dialect == DIRECTORY and not advanced:
                raise resource.unsupported(
                    "Operator 'not' is not supported because the required parameters might be "
                    f"missing. {ADVANCED_HINT}"
                )
            continue
        if prop not in resource.properties:
            raise resource.unknown_property(prop)
        default_ops = resource.default_filter.get(prop, frozenset())
        advanced_ops = resource.advanced_filter.get(prop, frozenset())
        if operator in default_ops:
            continue
        if operator in advanced_ops:
            if advanced:
                continue
            if resource.dialect == DIRECTORY and operator in _ADVANCED_OPERATORS:
                raise resource.unsupported(
                    f"Operator '{operator}' is not supported because the required parameters "
                    f"might be missing. {ADVANCED_HINT}"
                )
        label = resource.label or resource.name
        raise resource.unsupported(
            f"Unsupported or invalid query filter clause specified for property '{prop}' of "
            f"resource '{label}'."
        )


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def matches(node: Node, record: Record) -> bool:
    """Evaluate a parsed filter; string comparisons are case-insensitive [sim decision]."""
    kind = node[0]
    if kind == "and":
        return matches(node[1], record) and matches(node[2], record)
    if kind == "or":
        return matches(node[1], record) or matches(node[2], record)
    if kind == "not":
        return not matches(node[1], record)
    if kind == "in":
        value = _fold(record.get(node[1]))
        return any(value == _fold(candidate) for candidate in node[2])
    if kind == "func":
        value = record.get(node[2])
        if not isinstance(value, str) or not isinstance(node[3], str):
            return False
        text, part = value.casefold(), node[3].casefold()
        if node[1] == "startswith":
            return text.startswith(part)
        if node[1] == "endswith":
            return text.endswith(part)
        return part in text
    operator, prop, literal = node[1], node[2], node[3]
    value = record.get(prop)
    if isinstance(value, list):  # collections: eq means "any element equals"
        found = any(_fold(item) == _fold(literal) for item in value)
        return found if operator == "eq" else not found
    left, right = _fold(value), _fold(literal)
    if operator == "eq":
        return bool(left == right)
    if operator == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if operator == "gt":
            return bool(left > right)
        if operator == "ge":
            return bool(left >= right)
        if operator == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


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
