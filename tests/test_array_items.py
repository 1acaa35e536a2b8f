"""``transport.array_items.array_batches``: a spooled JSON array decoded a chunk at a time gives exactly
the items ``json.loads`` gives, whatever the cuts fall on (strings holding ``},``, nested
arrays of objects, escapes, whitespace), and refuses what it cannot read whole."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdmbridge.transport.array_items import array_batches
from mdmbridge.transport.body import BodyError

TRICKY_TEXT = st.sampled_from(["},", '"},{"', "\\", '\\"},', "}, {", "]", "[{", "å\u2028", ""])
TEXT = st.one_of(st.text(max_size=12), TRICKY_TEXT)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
RECORD = st.dictionaries(TEXT, VALUE, max_size=5)
ITEMS = st.lists(st.one_of(RECORD, VALUE), max_size=25)


def _items(body: bytes, **limits: Any) -> list[Any]:
    return [item for batch in array_batches(io.BytesIO(body), **limits) for item in batch]


@settings(max_examples=300, deadline=None)
@given(
    items=ITEMS,
    chunk=st.integers(1, 300),
    indent=st.sampled_from([None, 0, 2]),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " : ")]),
    ascii_only=st.booleans(),
)
def test_equals_json_loads_wherever_the_chunks_fall(
    items: list[Any], chunk: int, indent: int | None, separators: tuple[str, str], ascii_only: bool
) -> None:
    text = json.dumps(items, indent=indent, separators=separators, ensure_ascii=ascii_only)
    body = (" \n" + text + "\n").encode("utf-8")
    assert _items(body, chunk=chunk, max_item=1 << 20) == json.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"a": 1}, {"a": 2}, {"a": ',  # cut off
        b'[{"a": 1}, {"a": 2}]]',  # trailing data
        b'[{"a": 1}, {"a": 2} {"a": 3}]',  # a comma missing
        b'[{"a": "\xff"}, {"a": 2}]',  # not UTF-8
        b'{"a": 1}',  # not an array
        b'[{"a": 1}, {"a": Infinity}]',  # not a JSON number
    ],
)
def test_malformed_bodies_are_a_body_error(body: bytes) -> None:
    with pytest.raises(BodyError):
        _items(body, chunk=4)


def test_items_before_a_broken_part_come_first() -> None:
    good = [{"id": n, "text": "x" * 50} for n in range(200)]
    body = json.dumps(good).encode()[:-1] + b', {"id": oops}]'
    seen: list[Any] = []
    with pytest.raises(BodyError):
        for batch in array_batches(io.BytesIO(body), chunk=512):
            seen.extend(batch)
    assert 0 < len(seen) <= 200 and seen == good[: len(seen)]


def test_an_item_larger_than_the_limit_is_refused_not_read_whole() -> None:
    body = json.dumps([{"a": 1}, {"big": "y" * 5000}, {"a": 2}] * 3).encode()
    with pytest.raises(BodyError, match="an item over 0 MiB"):
        _items(body, chunk=64, max_item=1000)
    assert _items(body, chunk=64, max_item=1 << 20) == json.loads(body)
