"""The export's fast decode-to-row path gives exactly what the plain path gives (issue 10).

Three shortcuts, each proved against the code it stands in for, over the fuzz data of
``tests/test_fuzz.py`` (hostile values: 1e400, huge integers, lone surrogates, NaN,
nesting) and over real listings from every adapter's simulator:

* ``transport.body.parse_json``: msgspec first, the stdlib parser for whatever msgspec
  refuses; data and error text must equal ``json.loads``'s;
* ``FieldTable.read``: a compiled straight-line reader per payload shape; values and error
  text must equal the field-by-field loop's;
* ``export.schema`` ``raw`` text: msgspec, with the stdlib wherever msgspec would lose
  something; text must be ``json.dumps``'s, or (a float beyond 1e16 or below 1e-4,
  written the other way) read back to the same data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mdmbridge_duostation import mapping as duo_map
from mdmbridge_ezmdm import mapping as ez_map
from mdmbridge_intune import mapping as intune_map

import mdmbridge
from mdmbridge.entities import ENTITIES
from mdmbridge.export.schema import _json_text, row_maker
from mdmbridge.mapping import FieldTable, _read_each
from mdmbridge.models import Record
from mdmbridge.transport.body import BodyError, check_depth, parse_json
from tests.test_fuzz import TABLES, examples, payloads, values

ALL_TABLES: dict[str, FieldTable] = {
    f"{module.__name__}.{name}": table
    for module in (duo_map, ez_map, intune_map)
    for name, table in vars(module).items()
    if isinstance(table, FieldTable)
}


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and -0.0 told apart from 0.0 (as text would)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"


# decoding ----------------------------------------------------------------------------------


def _stdlib(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    return json.loads(text, parse_constant=refuse)


JSON_TEXTS = [
    "1e400",
    "-1e400",
    '{"a": 1e400, "b": [2e308]}',
    "9" * 5000,
    "1" + "0" * 400,
    '"\\ud800"',
    '["\\udc00x", 1]',
    '{"a":1,"b":2,"a":3}',
    "NaN",
    "[1, Infinity]",
    "[1,2",
    "",
    "  [1] ",
    '{"x": 5e-324, "y": -0.0, "z": 1.7976931348623157e308}',
    '"\\u0000 å \\u2028"',
    "[" * 60 + "]" * 60,
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_parse_json_equals_the_stdlib_on_hostile_documents(text: str) -> None:
    ours = _outcome(lambda: parse_json(text))
    theirs = _outcome(lambda: _stdlib(text))
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "ok":
        assert _same(ours[1], theirs[1])
    else:  # the stdlib words every refusal, whichever parser refused first
        with pytest.raises(BodyError, match=r"^not valid JSON"):
            parse_json(text)


@examples(60)
@given(document=values)
def test_parse_json_equals_the_stdlib_on_fuzzed_documents(document: Any) -> None:
    try:
        text = json.dumps(document, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):  # the int digit limit, deep nests
        return
    try:
        check_depth(text.encode("utf-8", errors="surrogatepass"))  # as decode_json does first
    except BodyError:
        return
    ours, theirs = _outcome(lambda: parse_json(text)), _outcome(lambda: _stdlib(text))
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "ok":
        assert _same(ours[1], theirs[1])


# field tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TABLES))
@examples(40)
@given(data=st.data())
def test_compiled_reader_equals_the_field_loop(name: str, data: st.DataObject) -> None:
    """Values, or the error's text, exactly as the field-by-field loop gives them."""
    _, table, _ = TABLES[name]
    payload = data.draw(payloads(name), label="payload")
    if not isinstance(payload, dict):
        return
    reader, _ = table._reader(tuple(payload))
    fast = _outcome(lambda: table.read(payload))
    slow = _outcome(lambda: _read_each(reader, payload))
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "ok":
        assert _same(fast[1], slow[1])
    else:
        assert fast[1] == slow[1]


def test_every_adapter_table_compiles() -> None:
    """Every table of every built-in adapter reads an empty payload through the compiled
    reader (absent fields are None, or their converter's default) as the loop does."""
    assert len(ALL_TABLES) >= 15
    for label, table in ALL_TABLES.items():
        reader, compiled = table._reader(())
        fast = _outcome(lambda c=compiled: c({}))  # type: ignore[misc]
        assert fast == _outcome(lambda r=reader: _read_each(r, {})), label


def test_blank_and_odd_text_values_take_the_converter() -> None:
    table = FieldTable(
        "thing", {"id": ez_map.F("id", convert=ez_map.ident), "name": ez_map.F("name")}
    )

    class Text(str):
        pass

    assert table.read({"id": "7", "name": "  "}) == {"id": "7", "name": None}
    assert table.read({"id": "", "name": ""}) == {"id": None, "name": None}
    assert table.read({"id": 12, "name": 4711}) == {"id": "12", "name": "4711"}
    assert table.read({"ID": Text("x"), "NAME": Text("y")}) == {"id": "x", "name": "y"}
    with pytest.raises(ValueError, match=r"^field name \(name=True\): expected text"):
        table.read({"id": "1", "name": True})


# raw as JSON text --------------------------------------------------------------------------

JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**18, max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.floats(min_value=1e14, max_value=1e22)
    | st.text()
    | st.sampled_from(["\ud800", "a\udfffb", "\u2028\u2029", "\x00\x1f\x7f", "3e5", "null"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@examples(200)
@given(value=JSONISH)
def test_raw_text_is_json_dumps_or_the_same_numbers(value: Any) -> None:
    """The text json.dumps gives, or (floats written the other way) text that reads back
    to the same data; refused exactly where json.dumps refuses."""
    if value is None:  # a column that is null, not the JSON text "null"
        assert _json_text(value) is None
        return
    ours, theirs = _outcome(lambda: _json_text(value)), _outcome(lambda: _dumps(value))
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "ok" and ours[1] != theirs[1]:
        assert _same(json.loads(ours[1]), json.loads(theirs[1]))
        assert "Infinity" not in theirs[1] and "NaN" not in theirs[1]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10**30, [None], "\ud800x"])
def test_raw_text_keeps_what_msgspec_would_lose(value: Any) -> None:
    assert _outcome(lambda: _json_text({"v": value})) == _outcome(lambda: _dumps({"v": value}))


@pytest.mark.parametrize(
    ("value", "text"), [(1e16, "1e16"), (1e-05, "0.00001"), (2.5, "2.5"), (-0.0, "-0.0")]
)
def test_raw_text_of_floats(value: float, text: str) -> None:
    assert _json_text([value]) == f"[{text}]"
    assert json.loads(f"[{text}]") == [value]


# whole listings from the simulators --------------------------------------------------------


def _reference_row(columns: Any) -> Callable[[Record], tuple[Any, ...]]:
    """The rows as the export made them before issue 10: attribute by attribute, json.dumps."""

    def make(record: Record) -> tuple[Any, ...]:
        out = []
        for column in columns:
            value = getattr(record, column.name)
            if value is None:
                out.append(None)
            elif column.kind == "timestamp":
                out.append(value.isoformat().replace("+00:00", "Z"))
            elif column.enum:
                out.append(value.value)
            elif column.kind == "json":
                out.append(_dumps(value))
            else:
                out.append(value)
        return tuple(out)

    return make


@pytest.fixture(params=["duostation", "ezmdm", "intune"])
def client(request: pytest.FixtureRequest) -> Iterator[mdmbridge.Client]:
    adapter = mdmbridge.adapters()[request.param].adapter_class
    sim = adapter.start_simulator(devices=60, seed=7)
    try:
        with mdmbridge.connect(request.param, tenant="t", **sim.settings) as connected:
            yield connected
    finally:
        sim.stop()


def test_rows_from_every_adapter_equal_the_reference_rows(client: mdmbridge.Client) -> None:
    checked = 0
    for spec in ENTITIES.values():
        if spec.capability not in client.capabilities:
            continue
        make, reference = row_maker(spec.columns), _reference_row(spec.columns)
        records = list(spec.fetch(client))
        for record in records:
            assert make(record) == reference(record)
            assert json.loads(make(record)[-1]) == record.raw  # raw is the last column
        checked += len(records)
    assert checked >= 60
