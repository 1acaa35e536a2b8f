"""The compiler of :class:`~mdmbridge.mapping.FieldTable`'s straight-line readers.

For each payload shape a table turns its field resolution into one Python function with no
loop (:func:`_compile`), and ``typed_rows`` builds its own rows from the same expressions
(:func:`expressions`). Converters can tell the compiler what it may skip: :func:`pure` ones
have their answers remembered, :func:`keeps_text` ones pass their kept texts through.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

Converter = Callable[[Any], Any]
# (core name, the payload's own key for it or None, converter, first declared key)
_Reader = tuple[tuple[str, str | None, Converter, str], ...]
_Compiled = Callable[[Mapping[str, Any]], dict[str, Any]]


@functools.cache
def _inline() -> dict[Converter, str]:
    """The commonest case of each core converter, inlined: for a value of that class and
    range, exactly what the converter returns. ``v`` is the payload's value, ``c`` the
    converter. Built on first use, not at import: the core converters live in
    :mod:`mdmbridge.mapping`, which imports this module."""
    from mdmbridge.mapping import MAX_INTEGER, ident, integer, parent_ref, text, timestamp

    return {
        text: "v if v.__class__ is str and v.strip() else c(v)",
        ident: "v if v.__class__ is str and v else c(v)",
        parent_ref: "str(v) if v.__class__ is int and 0 < v < 10**18 else"
        " v if v.__class__ is str and v and v != '0' else c(v)",
        integer: f"v if v.__class__ is int and {-MAX_INTEGER - 1} <= v <= {MAX_INTEGER} else c(v)",
        timestamp: "d if v.__class__ is str and 0 < len(v) <= 64 and"
        " (d := iso(v.replace('Z', '+00:00'))).tzinfo is not None else c(v)",
    }


_MEMO_LIMIT = 1024
_PURE: set[Converter] = set()
_KEEPS: dict[Converter, Callable[[str], object]] = {}
C = TypeVar("C", bound=Converter)


def pure(convert: C) -> C:
    """Marks a converter whose answer depends on the value alone (an enum's lookup): the
    compiled reader remembers its answers for texts and integers (up to 1,024 of each)."""
    _PURE.add(convert)
    return convert


def keeps_text(when: Callable[[str], object]) -> Callable[[C], C]:
    """Marks a converter that returns a text unchanged whenever ``when(text)`` holds (a
    GUID already in canonical form): the compiled reader skips the call for those."""

    def mark(convert: C) -> C:
        _KEEPS[convert] = when
        return convert

    return mark


def _remembered(convert: Converter) -> tuple[dict[Any, Any], dict[Any, Any], Converter]:
    by_int: dict[Any, Any] = {}
    by_str: dict[Any, Any] = {}

    def call(value: Any) -> Any:
        result = convert(value)  # a refusal is raised, never remembered
        memo = by_int if value.__class__ is int else by_str if value.__class__ is str else None
        if memo is not None and len(memo) < _MEMO_LIMIT:
            memo[value] = result
        return result

    return by_int, by_str, call


def _compile(reader: _Reader) -> _Compiled:
    """One function reading a payload of one shape: ``{"name": convert(payload[key]),
    ...}`` with no loop (:func:`expressions`)."""
    scope, exprs = expressions(reader)
    items = [f"{name!r}: ({expr})" for name, expr in exprs]
    params = [f"{n}={n}" for n in scope]
    source = f"def read(p, {', '.join(params)}):\n    return {{{', '.join(items)}}}\n"
    exec(compile(source, f"<FieldTable reader {len(reader)} fields>", "exec"), scope)
    compiled: _Compiled = scope["read"]
    return compiled


def expressions(reader: _Reader) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Each field's value as one Python expression over the payload ``p`` (and the locals
    ``v`` and ``d``), with the names it needs: the commonest case of the core converters
    inlined (:func:`_inline`: a non-blank ``str`` is its own :func:`text`, an int in 64 bits
    its own :func:`integer`, ...), the answers of :func:`pure` ones remembered and the
    kept texts of :func:`keeps_text` ones passed through: each exactly what the converter
    returns for it. Keys and converters are names bound to values, never written into the
    source: only our own field names and fixed expressions are."""
    inline = _inline()
    scope: dict[str, Any] = {"iso": datetime.fromisoformat}
    items: list[tuple[str, str]] = []
    for number, (name, key, convert, _) in enumerate(reader):
        if not name.isidentifier():
            raise ValueError(f"field name {name!r} is not an identifier")
        c = f"c{number}"
        scope[c] = convert
        if key is None:
            items.append((name, f"{c}(None)"))
            continue
        scope[f"k{number}"] = key
        if convert in inline:
            expr = inline[convert].replace("c(v)", f"{c}(v)")
        elif convert in _PURE:
            scope[f"i{number}"], scope[f"s{number}"], scope[c] = _remembered(convert)
            expr = (
                f"i{number}[v] if v.__class__ is int and v in i{number} else "
                f"s{number}[v] if v.__class__ is str and v in s{number} else {c}(v)"
            )
        elif convert in _KEEPS:
            scope[f"w{number}"] = _KEEPS[convert]
            expr = f"v if v.__class__ is str and w{number}(v) else {c}(v)"
        else:
            expr = f"{c}(v)"
        # The condition is evaluated first: its first ``v`` reads the payload's value.
        first = "v.__class__" if "v.__class__" in expr else "v"
        items.append((name, expr.replace(first, f"(v := p[k{number}]){first[1:]}", 1)))
    return scope, items
