"""The ezmdm simulator over real HTTP on loopback: protocol, paging, writes, hooks, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from mdmbridge_ezmdm.simulator import EzmdmSimulator, main, start_simulator

from mdmbridge.simulation.server import SimServer

KEY = "test-key-0123456789"
DEVICES = 150
MAX_PAGE = 40
GROUP_KEYS = {"id", "name"}
USER_KEYS = {"id", "groupId", "name", "email", "phone"}
DEVICE_KEYS = {
    "id", "userId", "name", "serialNumber", "udid", "imei", "model", "os", "osVersion",
    "phoneNumber", "batteryLevel", "lastCheckIn",
}  # fmt: skip
LOCATION_KEYS = {"id", "deviceId", "latitude", "longitude", "accuracy", "timestamp"}
TRICKY = "a&b=c+d é Åsa Öberg"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    server = start_simulator(devices=DEVICES, api_key=KEY, seed=7, max_page_size=MAX_PAGE)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app(sim: SimServer) -> Iterator[EzmdmSimulator]:
    assert isinstance(sim.app, EzmdmSimulator)
    sim.app.reset_counters()
    yield sim.app
    sim.faults.clear()
    sim.app.reset_counters()


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def api(sim: SimServer, *parts: str, key: str = KEY) -> str:
    return "/".join([sim.base_url, "api", "v1", key, *parts])


def get(http: requests.Session, url: str, **params: Any) -> dict[str, Any]:
    response = http.get(url, params=params, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def ok_list(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert body["success"] is True, body
    assert isinstance(body["data"], list)
    assert isinstance(body["page"], int)
    assert isinstance(body["total"], int)
    return body["data"]


def error(body: dict[str, Any]) -> str:
    assert body["success"] is False
    assert set(body) == {"success", "error"}
    message: str = body["error"]
    return message


def a_group_with_users(app: EzmdmSimulator) -> str:
    for group_id in app.ids("group"):
        if any((app.record("user", u) or {})["groupId"] == group_id for u in app.ids("user")):
            return group_id
    raise AssertionError("seeded fleet has no populated group")


def a_user_with_devices(app: EzmdmSimulator) -> str:
    for device_id in app.ids("device"):
        owner = (app.record("device", device_id) or {})["userId"]
        if owner is not None:
            return str(owner)
    raise AssertionError("seeded fleet has no assigned device")


def a_device_with_locations(app: EzmdmSimulator) -> str:
    device_ids = set(app.ids("device"))
    for location_id in app.ids("devicelocation"):
        device_id = (app.record("devicelocation", location_id) or {})["deviceId"]
        assert device_id in device_ids
        return str(device_id)
    raise AssertionError("seeded fleet has no locations")


# ------------------------------------------------------------------------- protocol


def test_wrong_key_is_200_with_envelope(sim: SimServer, http: requests.Session) -> None:
    assert error(get(http, api(sim, "device", key="nope"))) == "Invalid API Key"
    assert error(get(http, api(sim, "device", key=KEY.upper()))) == "Invalid API Key"
    response = http.put(api(sim, "group", key="nope"), data={"name": "x"}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"success": False, "error": "Invalid API Key"}


def test_outside_api_is_plain_404(sim: SimServer, http: requests.Session) -> None:
    assert http.get(f"{sim.base_url}/api/v2/{KEY}/device", timeout=10).status_code == 404
    assert http.get(f"{sim.base_url}/", timeout=10).status_code == 404


@pytest.mark.parametrize("name", ["device", "Device", "DEVICE", "dEvIcE"])
def test_item_names_are_case_insensitive(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator, name: str
) -> None:
    body = get(http, api(sim, name))
    assert body["total"] == DEVICES
    device_id = a_device_with_locations(app)
    for spelling in ("devicelocation", "deviceLocation", "DeviceLocation"):
        rows = ok_list(get(http, api(sim, spelling, device_id)))
        assert rows and all(row["deviceId"] == device_id for row in rows)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("widget",), "Unknown item: widget"),
        (("Widget", "1"), "Unknown item: Widget"),
        (("device", "999"), "Item not found"),
        (("group", "123456789012345678901234567890"), "Item not found"),
        (("devicelocation",), "An identifier is required"),
        (("device", "1", "extra"), "Item not found"),
    ],
)
def test_error_texts(
    sim: SimServer, http: requests.Session, parts: tuple[str, ...], expected: str
) -> None:
    assert error(get(http, api(sim, *parts))) == expected


def test_id_of_the_wrong_kind_is_not_found(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    user_id = app.ids("user")[0]
    group_id = app.ids("group")[0]
    device_id = app.ids("device")[0]
    assert error(get(http, api(sim, "group", user_id))) == "Item not found"
    assert error(get(http, api(sim, "user", device_id))) == "Item not found"
    assert error(get(http, api(sim, "device", group_id))) == "Item not found"
    assert error(get(http, api(sim, "devicelocation", user_id))) == "Item not found"


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "", " 5", "+5"])
def test_invalid_limit_and_page(sim: SimServer, http: requests.Session, value: str) -> None:
    assert error(get(http, api(sim, "device"), limit=value)) == "Invalid value for limit"
    assert error(get(http, api(sim, "device"), page=value)) == "Invalid value for page"


# ------------------------------------------------------------------------- paging


def test_paging_walks_everything_in_stable_order(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    expected = app.ids("device")
    seen: list[str] = []
    page = 1
    while True:
        body = get(http, api(sim, "device"), limit=25, page=page)
        rows = ok_list(body)
        assert body["page"] == page
        assert body["total"] == DEVICES
        if not rows:
            break
        seen.extend(row["id"] for row in rows)
        page += 1
    assert seen == expected
    assert page == 7  # 6 full pages then one empty one
    assert app.list_requests == 7
    again = get(http, api(sim, "device"), limit=25, page=3)
    assert [row["id"] for row in again["data"]] == expected[50:75]


def test_past_the_end_page_is_empty_with_total(sim: SimServer, http: requests.Session) -> None:
    body = get(http, api(sim, "device"), limit=10, page=1000)
    assert body == {"success": True, "data": [], "page": 1000, "total": DEVICES}


def test_limit_is_clamped_silently(sim: SimServer, http: requests.Session) -> None:
    assert len(ok_list(get(http, api(sim, "device")))) == MAX_PAGE  # default 100 -> 40
    assert len(ok_list(get(http, api(sim, "device"), limit=100))) == MAX_PAGE
    body = get(http, api(sim, "device"), limit=1000, page=4)
    assert len(body["data"]) == DEVICES - 3 * MAX_PAGE
    assert len(ok_list(get(http, api(sim, "device"), limit=7))) == 7


def test_record_shapes(sim: SimServer, http: requests.Session, app: EzmdmSimulator) -> None:
    group = ok_list(get(http, api(sim, "group")))[0]
    assert set(group) == GROUP_KEYS
    assert " / " in get(http, api(sim, "group"), page=1)["data"][-1]["name"]
    user = ok_list(get(http, api(sim, "user")))[0]
    assert set(user) == USER_KEYS
    for device in ok_list(get(http, api(sim, "device"))):
        assert set(device) == DEVICE_KEYS
        assert device["os"] in {"iOS", "Android"}
        assert isinstance(device["batteryLevel"], int) and 0 <= device["batteryLevel"] <= 100
        assert device["lastCheckIn"].endswith("Z") and len(device["lastCheckIn"]) == 20
        for item_id in (device["id"], device["userId"]):
            assert item_id is None or (len(item_id) == 30 and item_id.isdigit())
    device_id = a_device_with_locations(app)
    device = get(http, api(sim, "device", device_id))["data"]
    for location in ok_list(get(http, api(sim, "devicelocation", device_id))):
        assert set(location) == LOCATION_KEYS
        assert 55 <= location["latitude"] <= 66 and 11 <= location["longitude"] <= 24
        assert isinstance(location["accuracy"], int | float)
        assert location["timestamp"].endswith("Z")
        assert location["timestamp"] < device["lastCheckIn"]


# ------------------------------------------------------------------------- one id, two meanings


def test_user_by_group_id_or_user_id(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    group_id = a_group_with_users(app)
    expected = [u for u in app.ids("user") if (app.record("user", u) or {})["groupId"] == group_id]
    body = get(http, api(sim, "user", group_id), limit=1000)
    assert [row["id"] for row in ok_list(body)] == expected[:MAX_PAGE]
    assert body["total"] == len(expected)
    one = get(http, api(sim, "user", expected[0]))
    assert set(one) == {"success", "data"}
    assert one["data"]["id"] == expected[0] and one["data"]["groupId"] == group_id


def test_device_by_user_id_or_device_id(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    user_id = a_user_with_devices(app)
    expected = [
        d for d in app.ids("device") if (app.record("device", d) or {})["userId"] == user_id
    ]
    body = get(http, api(sim, "device", user_id))
    assert [row["id"] for row in ok_list(body)] == expected
    assert body["total"] == len(expected)
    one = get(http, api(sim, "device", expected[0]))["data"]
    assert isinstance(one, dict) and one["id"] == expected[0]


def test_devicelocation_by_device_and_by_own_id(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    device_id = a_device_with_locations(app)
    rows = ok_list(get(http, api(sim, "devicelocation", device_id)))
    stamps = [row["timestamp"] for row in rows]
    assert stamps == sorted(stamps)
    one = get(http, api(sim, "devicelocation", rows[0]["id"]))["data"]
    assert one == rows[0]


def test_empty_list_for_parent_without_children(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    group_id = http.put(api(sim, "group"), data={"name": "Tom grupp"}, timeout=10).json()["data"]
    body = get(http, api(sim, "user", group_id))
    assert body == {"success": True, "data": [], "page": 1, "total": 0}


# ------------------------------------------------------------------------- writes


def test_put_group_and_user(sim: SimServer, http: requests.Session, app: EzmdmSimulator) -> None:
    groups_before = app.count("group")
    response = http.put(api(sim, "Group"), data={"name": "Örebro / Lager"}, timeout=10)
    assert response.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = response.json()
    assert body["success"] is True and set(body) == {"success", "data"}
    group_id = body["data"]
    assert isinstance(group_id, str) and len(group_id) == 30 and group_id.isdigit()
    assert get(http, api(sim, "group"))["total"] == groups_before + 1
    assert get(http, api(sim, "group", group_id))["data"] == {
        "id": group_id,
        "name": "Örebro / Lager",
    }

    fields = {"name": "Märta Åkesson", "groupId": group_id, "email": "m@example.se"}
    user_id = http.put(api(sim, "user"), data=fields, timeout=10).json()["data"]
    assert len(user_id) == 30 and user_id not in {group_id}
    user = get(http, api(sim, "user", user_id))["data"]
    assert user == {**fields, "id": user_id, "phone": None}
    assert [row["id"] for row in ok_list(get(http, api(sim, "user", group_id)))] == [user_id]


def test_put_errors(sim: SimServer, http: requests.Session) -> None:
    def put(item: str, **data: str) -> str:
        return error(http.put(api(sim, item), data=data, timeout=10).json())

    assert put("group") == "Missing required field: name"
    assert put("group", name="  ") == "Missing required field: name"
    assert put("user", email="x@example.se") == "Missing required field: name"
    assert put("group", name="x", colour="blue") == "Unknown field: colour"
    assert put("user", name="x", groupId="999") == "Invalid value for groupId"
    assert put("device", name="x") == "Method not allowed"
    assert put("devicelocation", name="x") == "Method not allowed"


def test_json_body_is_refused(sim: SimServer, http: requests.Session, app: EzmdmSimulator) -> None:
    before = app.count("group")
    response = http.put(api(sim, "group"), json={"name": "JSON"}, timeout=10)
    assert response.status_code == 200
    assert error(response.json()) == "Unsupported content type: application/json"
    device_id = app.ids("device")[0]
    response = http.post(api(sim, "device", device_id), json={"name": "x"}, timeout=10)
    assert error(response.json()) == "Unsupported content type: application/json"
    assert app.count("group") == before


def test_post_updates_only_sent_fields(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    user_id = app.ids("user")[3]
    before = get(http, api(sim, "user", user_id))["data"]
    response = http.post(api(sim, "user", user_id), data={"phone": "+46701234567"}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    after = get(http, api(sim, "user", user_id))["data"]
    assert after == {**before, "phone": "+46701234567"}


def test_post_user_moves_group(sim: SimServer, http: requests.Session, app: EzmdmSimulator) -> None:
    user_id = app.ids("user")[5]
    old_group = get(http, api(sim, "user", user_id))["data"]["groupId"]
    new_group = next(g for g in app.ids("group") if g != old_group)
    old_total = get(http, api(sim, "user", old_group))["total"]
    new_total = get(http, api(sim, "user", new_group))["total"]
    assert http.post(api(sim, "user", user_id), data={"groupId": new_group}, timeout=10).json() == {
        "success": True
    }
    assert get(http, api(sim, "user", old_group))["total"] == old_total - 1
    new_body = get(http, api(sim, "user", new_group), limit=1000, page=1)
    assert new_body["total"] == new_total + 1
    members = [u for u in app.ids("user") if (app.record("user", u) or {})["groupId"] == new_group]
    assert user_id in members  # insertion order is kept inside the group's list
    assert [row["id"] for row in new_body["data"]] == members[:MAX_PAGE]


def test_round_trip_of_awkward_text(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    group_id = http.put(api(sim, "group"), data={"name": TRICKY}, timeout=10).json()["data"]
    assert get(http, api(sim, "group", group_id))["data"]["name"] == TRICKY
    device_id = app.ids("device")[1]
    http.post(api(sim, "device", device_id), data={"name": TRICKY}, timeout=10)
    assert get(http, api(sim, "device", device_id))["data"]["name"] == TRICKY
    # the document's own example: an apostrophe and a trailing '&'
    raw = b"name=Bob%27s+iPhone&"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    http.post(api(sim, "device", device_id), data=raw, headers=headers, timeout=10)
    assert get(http, api(sim, "device", device_id))["data"]["name"] == "Bob's iPhone"


def test_device_update_assign_unassign_and_push(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    device_id = app.ids("device")[2]
    user_id = app.ids("user")[-1]
    post = http.post(api(sim, "device", device_id), data={"userId": user_id}, timeout=10)
    assert post.json() == {"success": True}
    assert device_id in [row["id"] for row in ok_list(get(http, api(sim, "device", user_id)))]
    http.post(api(sim, "device", device_id), data={"userId": ""}, timeout=10)
    assert get(http, api(sim, "device", device_id))["data"]["userId"] is None
    assert device_id not in [row["id"] for row in ok_list(get(http, api(sim, "device", user_id)))]
    before = get(http, api(sim, "device", device_id))["data"]
    assert http.post(api(sim, "device", device_id), data={"push": "1"}, timeout=10).json() == {
        "success": True
    }
    assert app.pushes == [device_id]
    assert get(http, api(sim, "device", device_id))["data"] == before


def test_post_errors_change_nothing(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    device_id = app.ids("device")[4]
    before = get(http, api(sim, "device", device_id))["data"]

    def post(*parts: str, **data: str) -> str:
        return error(http.post(api(sim, *parts), data=data, timeout=10).json())

    assert post("device", device_id, name="new", serialNumber="X") == "Unknown field: serialNumber"
    assert post("device", device_id, name="new", userId="42") == "Invalid value for userId"
    assert post("device", device_id, push="yes") == "Invalid value for push"
    assert post("device", "999", name="x") == "Item not found"
    assert post("device", app.ids("user")[0], name="x") == "Item not found"
    assert post("group", name="x") == "Method not allowed"
    assert post("user", name="x") == "Method not allowed"
    assert post("device", name="x") == "Method not allowed"
    assert post("devicelocation", app.ids("devicelocation")[0], name="x") == "Method not allowed"
    assert post("group", app.ids("group")[0], email="x") == "Unknown field: email"
    assert get(http, api(sim, "device", device_id))["data"] == before
    assert app.pushes == []


@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
def test_delete_and_patch_not_allowed(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator, method: str
) -> None:
    group_id = app.ids("group")[0]
    response = http.request(method, api(sim, "group", group_id), timeout=10)
    assert response.status_code == 200
    assert error(response.json()) == "Method not allowed"
    assert get(http, api(sim, "group", group_id))["success"] is True


def test_concurrent_puts_get_unique_ids(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    before = app.count("group")

    def add(index: int) -> str:
        with requests.Session() as session:
            reply = session.put(api(sim, "group"), data={"name": f"G{index}"}, timeout=10)
            return str(reply.json()["data"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        new_ids = list(pool.map(add, range(64)))
    assert len(set(new_ids)) == 64
    assert app.count("group") == before + 64


# ------------------------------------------------------------------------- paging hooks


def test_short_page(sim: SimServer, http: requests.Session, app: EzmdmSimulator) -> None:
    app.short_page(2, missing=3)
    full = app.ids("device")
    short = get(http, api(sim, "device"), limit=10, page=2)
    assert [row["id"] for row in short["data"]] == full[10:17]
    assert short["total"] == DEVICES
    assert len(get(http, api(sim, "device"), limit=10, page=1)["data"]) == 10  # other pages fine
    again = get(http, api(sim, "device"), limit=10, page=2)
    assert [row["id"] for row in again["data"]] == full[10:20]
    app.short_page(1, times=2)
    assert len(get(http, api(sim, "device"), limit=5)["data"]) == 4
    assert len(get(http, api(sim, "device"), limit=5)["data"]) == 4
    assert len(get(http, api(sim, "device"), limit=5)["data"]) == 5
    assert app.list_requests == 6


def test_drift_total(sim: SimServer, http: requests.Session, app: EzmdmSimulator) -> None:
    app.drift_total(5, times=2)
    assert get(http, api(sim, "device"), limit=10)["total"] == DEVICES + 5
    assert get(http, api(sim, "device"), limit=10, page=2)["total"] == DEVICES + 5
    assert get(http, api(sim, "device"), limit=10, page=3)["total"] == DEVICES
    app.drift_total(-3)
    body = get(http, api(sim, "device"), limit=10, page=2)
    assert body["total"] == DEVICES - 3 and len(body["data"]) == 10


def test_single_item_gets_are_not_list_requests(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    get(http, api(sim, "device", app.ids("device")[0]))
    get(http, api(sim, "device", key="wrong"))
    assert app.list_requests == 0


# ------------------------------------------------------------------------- faults


def test_status_fault_with_retry_after(
    sim: SimServer, http: requests.Session, app: EzmdmSimulator
) -> None:
    sim.faults.add("status", status=429, retry_after=2, times=1, path="/device")
    response = http.get(api(sim, "device"), timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json() == {"success": False, "error": "simulated fault"}
    assert get(http, api(sim, "device"))["success"] is True


def test_fault_spec_syntax_through_this_app(sim: SimServer, http: requests.Session) -> None:
    spec = sim.faults.parse_spec("status:503:times=2")
    sim.faults.add(**spec)  # type: ignore[arg-type]
    assert http.get(api(sim, "group"), timeout=10).status_code == 503
    assert http.get(api(sim, "group"), timeout=10).status_code == 503
    assert http.get(api(sim, "group"), timeout=10).status_code == 200


def test_drop_and_truncate(sim: SimServer, app: EzmdmSimulator) -> None:
    sim.faults.add("drop", times=1)
    with requests.Session() as session, pytest.raises(requests.ConnectionError):
        session.get(api(sim, "device"), timeout=10)
    sim.faults.add("truncate", times=1)
    with requests.Session() as session, pytest.raises(requests.RequestException):
        session.get(api(sim, "device"), timeout=10).json()
    with requests.Session() as session:
        assert session.get(api(sim, "device"), timeout=10).json()["success"] is True


# ------------------------------------------------------------------------- seeding and CLI


def test_seeding_is_deterministic_and_flat() -> None:
    one = EzmdmSimulator(devices=60, seed=3)
    two = EzmdmSimulator(devices=60, seed=3)
    other = EzmdmSimulator(devices=60, seed=4)
    assert one.ids("device") == two.ids("device") != other.ids("device")
    assert one.count("user") == 48 and one.count("device") == 60
    for kind in ("group", "user", "device", "devicelocation"):
        for item_id in one.ids(kind):
            assert one.record(kind, item_id) == two.record(kind, item_id)
    names = [(one.record("group", g) or {})["name"] for g in one.ids("group")]
    assert "Göteborg" in names and any(name.count(" / ") == 2 for name in names)
    assigned = sum(1 for d in one.ids("device") if (one.record("device", d) or {})["userId"])
    assert 40 <= assigned <= 60
    all_ids = [i for kind in ("group", "user", "device", "devicelocation") for i in one.ids(kind)]
    assert len(all_ids) == len(set(all_ids))
    assert all(len(i) == 30 and i.isdigit() for i in all_ids)


def test_empty_simulator(http: requests.Session) -> None:
    server = start_simulator(api_key="k")
    try:
        for item in ("group", "user", "device"):
            body = get(http, f"{server.base_url}/api/v1/k/{item}")
            assert body == {"success": True, "data": [], "page": 1, "total": 0}
    finally:
        server.stop()


@pytest.mark.slow
def test_large_fleet_seeds_fast_and_pages_cheaply(http: requests.Session) -> None:
    started = time.perf_counter()
    server = start_simulator(devices=100_000, api_key="k")
    try:
        assert time.perf_counter() - started < 8
        url = f"{server.base_url}/api/v1/k/device"
        started = time.perf_counter()
        body = get(http, url, limit=100, page=999)
        assert len(body["data"]) == 100 and body["total"] == 100_000
        assert get(http, url, limit=100, page=1001)["data"] == []
        assert time.perf_counter() - started < 2
    finally:
        server.stop()


def test_main_parses_options(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    served: list[SimServer] = []

    def fake_serve(self: SimServer) -> None:
        served.append(self)
        self.stop()

    monkeypatch.setattr(SimServer, "serve_until_interrupted", fake_serve)
    argv = ["--port", "0", "--devices", "5", "--api-key", "KEY9", "--latency-ms", "20"]
    argv += ["--fault", "status:429:retry_after=2:times=3", "--fault", "drop"]
    assert main(argv) == 0
    (server,) = served
    assert isinstance(server.app, EzmdmSimulator) and server.app.count("device") == 5
    assert server.faults.latency_s == pytest.approx(0.02)
    out = capsys.readouterr().out
    assert server.base_url in out and "KEY9" in out
    with pytest.raises(SystemExit):
        main(["--port", "0", "--fault", "bogus"])
