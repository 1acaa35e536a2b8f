"""``export.json_rows``: a batch of rows encoded as JSON Lines in one msgspec call is, line
for line, the object each row stands for (``raw`` spliced in as the JSON it holds), and a
value JSON cannot hold is refused for the batch and found again row by row."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdmbridge.export.json_rows import JSON_DATA_ERRORS, JsonObjects, json_objects, jsonl_objects
from mdmbridge.export.schema import ENTITIES

DEVICES = ENTITIES["devices"]
NAMES = [c.name for c in DEVICES.columns]
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)
RAW = st.one_of(st.none(), st.dictionaries(st.text(max_size=5), SCALAR, max_size=4).map(json.dumps))
ROW = st.tuples(*[SCALAR] * (len(NAMES) - 1), RAW)


@settings(max_examples=200, deadline=None)
@given(st.lists(ROW, max_size=20))
def test_each_line_is_the_rows_object(rows: list[tuple[Any, ...]]) -> None:
    encoded = jsonl_objects(DEVICES).lines(rows)
    lines = encoded.split(b"\n")
    assert lines.pop() == b""  # every line ends with a newline
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        expected = {"entity": "devices", **dict(zip(NAMES, row, strict=True))}
        expected["raw"] = None if row[-1] is None else json.loads(row[-1])
        assert json.loads(line) == expected
        assert list(json.loads(line)) == ["entity", *NAMES]  # column order kept
        assert line == jsonl_objects(DEVICES).one(row)
    for row in rows:  # the JSON document's objects: the same, without ``entity``
        assert json.loads(json_objects(DEVICES).one(row)) == {
            **dict(zip(NAMES, row, strict=True)),
            "raw": None if row[-1] is None else json.loads(row[-1]),
        }


def test_a_value_json_cannot_hold_fails_the_batch_and_is_found_row_by_row() -> None:
    good = (*["x"] * (len(NAMES) - 1), '{"a":1}')
    bad = ("\ud800", *good[1:])  # a lone surrogate: no UTF-8 for it
    objects = jsonl_objects(DEVICES)
    with pytest.raises(JSON_DATA_ERRORS):
        objects.lines([good, bad, good])
    objects.one(good)
    with pytest.raises(JSON_DATA_ERRORS):
        objects.one(bad)


def test_any_column_name_is_a_key_not_only_identifiers() -> None:
    objects = JsonObjects(("a b", "class", "é", "raw"), {3})
    assert json.loads(objects.one((1, 2, 3, '{"x":[1]}'))) == {
        "a b": 1,
        "class": 2,
        "é": 3,
        "raw": {"x": [1]},
    }
