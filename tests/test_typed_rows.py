"""The export's rows built straight from payloads (``mdmbridge.typed_rows``, through
``Adapter.export_rows``) equal the rows of the model path (``build`` + ``row_maker``) in
every case: seeded fleets from every adapter's simulator, and hostile payloads (the fuzz
strategies of ``tests/test_fuzz.py``, plus blank strings, numbers as text, odd enum
casing, 1e400, huge integers, every timestamp form, missing, extra and non-text keys,
repeated ids). A record the fast form cannot vouch for takes the model path and gives the
same row, or the same error with the same (redacted) text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mdmbridge_duostation import adapter as duo_adapter
from mdmbridge_ezmdm import adapter as ez_adapter
from mdmbridge_intune import mapping as intune_map

import mdmbridge
from mdmbridge.entities import ENTITIES, Entity, columns_of
from mdmbridge.export.schema import Row, row_maker
from mdmbridge.mapping import FieldTable, _read_each
from mdmbridge.models import App, Device, Group, User
from mdmbridge.typed_rows import RowBuilder
from tests.fuzz_server import Answer, ScriptedServer
from tests.test_fuzz import (
    DUO_PASSWORD,
    EZ_KEY,
    TABLES,
    VALID,
    device_like,
    examples,
    payloads,
)

Outcome = tuple[str, Any]


def _outcome(call: Callable[[], Any]) -> Outcome:
    """("ok", the rows, and their repr: 1 and 1.0, True and 1, -0.0 and 0.0 told apart)
    or ("error", its class and text). Not only ``MDMError``: a value no JSON decoder makes
    (a Decimal) fails the raw column's encoding, and must fail it on both paths alike."""
    try:
        rows = call()
    except Exception as error:
        return ("error", (type(error).__name__, str(error)))
    return ("ok", (rows, repr(rows)))


def _builder(name: str, *, redact: Callable[[str], str] | None = None) -> RowBuilder:
    model, table, extra = TABLES[name]
    return RowBuilder(
        model, table, columns_of(model), tenant="t", vendor="v", extra=extra, redact=redact
    )


def _both(builder: RowBuilder, payload: Any) -> tuple[Outcome, Outcome]:
    return _outcome(lambda: builder.row(payload)), _outcome(lambda: builder.slow_row(payload))


# payloads, in process ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TABLES))
def test_a_valid_payload_takes_the_fast_form_and_gives_the_model_row(name: str) -> None:
    builder = _builder(name)
    fast, slow = _both(builder, dict(VALID[name]))
    assert fast == slow and fast[0] == "ok"
    assert builder.fast == 1  # not the fallback: the fast form made it


@pytest.mark.parametrize("name", list(TABLES))
@examples(60)
@given(data=st.data())
def test_fuzzed_payloads_give_the_model_rows_or_errors(name: str, data: st.DataObject) -> None:
    builder = _builder(name)
    payload = data.draw(payloads(name), label="payload")
    fast, slow = _both(builder, payload)
    assert fast == slow


HOSTILE_VALUES: tuple[Any, ...] = (
    "",
    " ",
    "\t\n",
    "88",
    " 88 ",
    "88.0",
    88.0,
    88.5,
    101,
    -1,
    True,
    None,
    float("inf"),  # what the stdlib parser makes of 1e400
    -0.0,
    10**30,
    10**200,
    2**63,
    "iOS",
    " IOS ",
    "ANDROID",
    "Mac OS X",
    0,
    1,
    9,
    "1",
    "{0B8E3C8E-9D1E-4A50-BB6C-2F1B8A1C5E77}",
    "2026-11-01T08:00:00Z",
    "2026-11-01T08:00:00+02:00",
    "2026-11-01T08:00:00.123456-05:30",
    "2026-11-01T08:00:00",
    "2026-11-01",
    "2026-11-01 08:00",
    "20261101T080000Z",
    "2026-11-01T08:00:00+05:30:15.5",
    "2026-11-01T08:00:00z",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59Z",
    "2026-13-45T99:99:99Z",
    "yesterday",
    [],
    {},
    {"nested": [1, 2]},
    "\ud800",
    "a" * 200,
)


def _hostile(name: str) -> Iterator[dict[Any, Any]]:
    valid = VALID[name]
    _, table, _ = TABLES[name]
    keys = sorted({key for spec in table.fields.values() for key in spec.keys})
    for key in keys:
        for value in HOSTILE_VALUES:
            yield {**valid, key: value}
            yield {**valid, key.lower(): value}
        missing = {k: v for k, v in valid.items() if k != key}
        yield missing
    yield {}
    yield {**valid, "SomethingNew": [1, {"a": None}]}
    yield {**valid, "id": "shadow", "ID": "another"}  # two spellings of one key
    yield {**valid, 1: "a key that is not text"}


@pytest.mark.parametrize("name", list(TABLES))
def test_hostile_payloads_give_the_model_rows_or_errors(name: str) -> None:
    builder = _builder(name)
    checked = 0
    for payload in _hostile(name):
        fast, slow = _both(builder, payload)
        assert fast == slow, payload
        checked += 1
    assert checked > 100
    assert builder.fast > 0  # the typed values took the fast form ...
    assert builder.fast < checked  # ... and the odd ones the fallback


def test_non_dict_payloads_and_bad_models_take_the_model_path() -> None:
    builder = _builder("ezmdm-device")
    for payload in ([], "x", None, 7):
        fast, slow = _both(builder, payload)
        assert fast == slow and fast[0] == "error"
    assert builder.fast == 0
    # A table with a field the model does not have: the model refuses every record, so
    # the fast form is never made for it.
    odd = FieldTable("device", {"id": TABLES["ezmdm-device"][1].fields["id"], **_odd_field()})
    never = RowBuilder(Device, odd, columns_of(Device), tenant="t", vendor="v")
    fast, slow = _both(never, {"id": "x", "colour": "red"})
    assert fast == slow and fast[0] == "error" and never.fast == 0


def _odd_field() -> dict[str, Any]:
    return {"colour": TABLES["ezmdm-device"][1].fields["name"]}


def test_a_secret_echoed_in_a_bad_field_is_redacted_the_same_way() -> None:
    def redact(text: str) -> str:
        return text.replace(DUO_PASSWORD, "***")

    builder = _builder("duostation-device", redact=redact)
    payload = {**VALID["duostation-device"], "BatteryLevel": f"{DUO_PASSWORD} 88"}
    fast, slow = _both(builder, payload)
    assert fast == slow and fast[0] == "error"
    assert DUO_PASSWORD not in fast[1][1] and "***" in fast[1][1]


@pytest.mark.parametrize(
    ("model", "table"),
    [
        (Group, intune_map.GROUP),
        (User, intune_map.USER),
        (Device, intune_map.DEVICE),
        (App, intune_map.APP),
    ],
)
def test_intune_tables_build_the_model_rows_too(model: Any, table: FieldTable) -> None:
    """Intune's listings keep the model path (see the report in typed_rows); its tables
    still give the model's rows through a builder, fast or not."""
    builder = RowBuilder(model, table, columns_of(model), tenant="t", vendor="v")
    keys = sorted({key for spec in table.fields.values() for key in spec.keys})
    for value in HOSTILE_VALUES:
        payload: dict[str, Any] = {key: value for key in keys} | {
            "id": "0b8e3c8e-9d1e-4a50-bb6c-2f1b8a1c5e77"
        }
        fast, slow = _both(builder, payload)
        assert fast == slow


# seeded fleets, over HTTP ------------------------------------------------------------------

# The tables each adapter's export_rows uses: entity name -> field table.
FAST_TABLES: dict[str, dict[str, FieldTable]] = {
    "duostation": {
        **{name: table for name, (table, _) in duo_adapter._EXPORTED.items()},
        **{
            spec.name: duo_adapter._LINKS[spec.target][1]
            for spec in ENTITIES.values()
            if spec.target is not None
        },
    },
    "ezmdm": {name: table for name, (table, _) in ez_adapter._EXPORTED.items()},
    "intune": {},
}


@pytest.fixture(params=[("duostation", 7), ("ezmdm", 7), ("intune", 7), ("duostation", 3)])
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[str, mdmbridge.Client]]:
    vendor, seed = request.param
    adapter = mdmbridge.adapters()[vendor].adapter_class
    sim = adapter.start_simulator(devices=150, seed=seed)
    try:
        with mdmbridge.connect(vendor, tenant="t", **sim.settings) as connected:
            yield vendor, connected
    finally:
        sim.stop()


def _model_rows(client: mdmbridge.Client, spec: Entity) -> list[Row]:
    return [row_maker(spec.columns)(record) for record in spec.fetch(client)]


def test_seeded_fleets_give_the_model_rows_for_every_entity(
    seeded: tuple[str, mdmbridge.Client],
) -> None:
    vendor, client = seeded
    checked = 0
    for spec in ENTITIES.values():
        if spec.capability not in client.capabilities:
            continue
        fast = _outcome(lambda s=spec: list(client.adapter.export_rows(client, s)))  # type: ignore[misc]
        slow = _outcome(lambda s=spec: _model_rows(client, s))  # type: ignore[misc]
        assert fast == slow, spec.name
        checked += len(slow[1][0])
        table = FAST_TABLES[vendor].get(spec.name)
        if table is not None:  # the simulator's payloads all take the fast form
            builder = RowBuilder(
                spec.model,
                table,
                spec.columns,
                tenant="t",
                vendor=vendor,
                extra=None if spec.target is None else {"target": spec.target},
            )
            records = list(spec.fetch(client))
            assert [builder.row(r.raw) for r in records] == slow[1][0]
            assert builder.fast == len(records)
    assert checked >= 150


# hostile listings, over HTTP ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def _connect(vendor: str, server: ScriptedServer) -> mdmbridge.Client:
    common: dict[str, Any] = {"retries": 0, "connect_timeout_s": 2.0, "read_timeout_s": 5.0}
    if vendor == "duostation":
        return mdmbridge.connect(
            "duostation",
            tenant="fuzz",
            base_url=server.base_url,
            username="fuzzer",
            password=DUO_PASSWORD,
            **common,
        )
    return mdmbridge.connect(
        "ezmdm", tenant="fuzz", base_url=server.base_url, api_key=EZ_KEY, page_size=50, **common
    )


def _listing(vendor: str, items: list[Any]) -> bytes:
    document: Any = items
    if vendor == "ezmdm":
        document = {"success": True, "data": items, "page": 1, "total": len(items)}
    return json.dumps(document).encode()


def _compare_listing(server: ScriptedServer, vendor: str, items: list[Any]) -> Outcome:
    server.answer = Answer(body=_listing(vendor, items))
    spec = ENTITIES["devices"]
    with _connect(vendor, server) as client:
        fast = _outcome(lambda: list(client.adapter.export_rows(client, spec)))
        slow = _outcome(lambda: _model_rows(client, spec))
    assert fast == slow
    return fast


@pytest.mark.parametrize("vendor", ["duostation", "ezmdm"])
@examples(40)
@given(items=st.lists(device_like, max_size=6))
def test_fuzzed_listings_give_the_model_rows_or_errors(
    server: ScriptedServer, vendor: str, items: list[dict[str, Any]]
) -> None:
    if vendor == "ezmdm":
        items = [{k.lower(): v for k, v in item.items()} for item in items]
    _compare_listing(server, vendor, items)


@pytest.mark.parametrize("vendor", ["duostation", "ezmdm"])
def test_a_repeated_id_fails_the_listing_the_same_way(server: ScriptedServer, vendor: str) -> None:
    device = dict(VALID[f"{vendor}-device"])
    other = {**device, "Name": "another", "name": "another"}
    outcome = _compare_listing(server, vendor, [device, other])
    assert outcome[0] == "error" and outcome[1][0] == "IncompleteListing"


@pytest.mark.parametrize("vendor", ["duostation", "ezmdm"])
def test_a_bad_record_fails_the_listing_the_same_way_without_the_secret(
    server: ScriptedServer, vendor: str
) -> None:
    secret = DUO_PASSWORD if vendor == "duostation" else EZ_KEY
    good = dict(VALID[f"{vendor}-device"])
    stamp = "lastCheckIn" if vendor == "ezmdm" else "LastSeen"
    bad = {**good, "Id": "other", "id": "other", stamp: secret}
    outcome = _compare_listing(server, vendor, [good, bad])
    assert outcome[0] == "error" and outcome[1][0] == "MalformedResponse"
    assert secret not in outcome[1][1]


@pytest.mark.parametrize("name", list(TABLES))
def test_the_inlined_converters_read_as_the_field_loop(name: str) -> None:
    """The compiled reader (which both paths use) against the field-by-field loop, twice
    over, so the second pass reads remembered answers of the pure converters (1, "1",
    True and 1.0 stay apart; a GUID only in canonical form skips its converter)."""
    _, table, _ = TABLES[name]
    for _pass in range(2):
        for payload in _hostile(name):
            if not all(isinstance(k, str) for k in payload):
                continue
            reader, _ = table._reader(tuple(payload))
            fast = _outcome(lambda p=payload: table.read(p))  # type: ignore[misc]
            slow = _outcome(lambda p=payload, r=reader: _read_each(r, p))  # type: ignore[misc]
            assert fast == slow, payload
