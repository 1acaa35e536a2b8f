"""OData ``$filter`` as Graph serves it: a tokenizer and parser for the subset, the check
of what each property allows (default or advanced queries), and evaluation over records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .resource import ADVANCED_HINT, DIRECTORY, Record, Resource

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
