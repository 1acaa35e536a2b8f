"""The DuoSTATION simulator over real HTTP: wire format, every route, validation, refusals,
faults. These tests pin the contract the DuoSTATION adapter is written against."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any, cast

import pytest
import requests
from mdmbridge_duostation.simulator import DuoStationSimulator, main, start_simulator

from mdmbridge.simulation.server import SimServer

AUTH = ("api", "secret")
GUID_LEN = 36
DEVICE_KEYS = {
    "Id", "Name", "SerialNumber", "Model", "Platform", "OsVersion", "UserId", "GroupId",
    "AccountName", "Udid", "Imei", "PhoneNumber", "BatteryLevel", "LastSeen",
}  # fmt: skip
GROUP_KEYS = {
    "Id", "Name", "ParentId", "Path", "Number", "Notes", "LostModeMessage",
    "LostModePhoneNumber", "LostModeFootNode",
}  # fmt: skip
USER_KEYS = {
    "Id", "Name", "Email", "PhoneNumber", "AccountGroup", "AccountName", "GroupId", "Company",
    "Office", "Department", "Position",
}  # fmt: skip
APP_KEYS = {
    "Id", "Name", "Description", "Company", "PackageId", "VersionText", "VersionNumber",
    "Platform", "Size", "Store", "StoreId", "ImageUrl", "ImageData",
}  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    sim = start_simulator(devices=200, seed=7)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def app(server: SimServer) -> DuoStationSimulator:
    return cast(DuoStationSimulator, server.app)


@pytest.fixture(scope="module")
def http(server: SimServer) -> Iterator[requests.Session]:
    session = requests.Session()
    session.auth = AUTH
    yield session
    session.close()


class Api:
    """Tiny helper: ``api.get("/api/groups")`` against the module's simulator."""

    def __init__(self, server: SimServer, session: requests.Session) -> None:
        self.base = server.base_url
        self.session = session

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        if body is not None:
            kw["data"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
            kw.setdefault("headers", {})["Content-Type"] = "application/json"
        return self.session.request(method, self.base + path, timeout=10, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        response = self.call(method, path, body, **kw)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json() if response.content else None

    def create(self, path: str, body: Any) -> int:
        new_id = self.ok("POST", path, body)
        assert isinstance(new_id, int)
        return new_id

    def error(self, method: str, path: str, status: int, body: Any = None, **kw: Any) -> str:
        response = self.call(method, path, body, **kw)
        assert response.status_code == status, (response.status_code, response.text)
        message = response.json()["Message"]
        assert isinstance(message, str) and message
        return message


@pytest.fixture(scope="module")
def api(server: SimServer, http: requests.Session) -> Api:
    return Api(server, http)


def a_device(app: DuoStationSimulator, *, linked: bool = True) -> dict[str, Any]:
    with app.lock:
        for device in app.devices.values():
            if (device["UserId"] is not None) == linked:
                return dict(device)
    raise AssertionError("no such device in the seeded fleet")


# ------------------------------------------------------------------ wire format and auth


def test_auth_refused_with_challenge(server: SimServer) -> None:
    for auth in (None, ("api", "wrong"), ("nobody", "secret")):
        response = requests.get(server.base_url + "/api/groups", auth=auth, timeout=10)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="DuoSTATION"'
        assert response.json() == {"Message": "Authorization has been denied for this request."}
    garbage = requests.get(
        server.base_url + "/api/nothing", headers={"Authorization": "Basic !!!"}, timeout=10
    )
    assert garbage.status_code == 401  # auth is checked before routing


def test_compact_pascalcase_json_with_bare_guid(api: Api, app: DuoStationSimulator) -> None:
    device = a_device(app)
    response = api.get(f"/api/devices/{device['Id']}")
    assert response.headers["Content-Type"].startswith("application/json")
    text = response.content.decode("utf-8")
    assert '"Id":"' + device["Id"] + '"' in text
    assert '": ' not in text and '", "' not in text and '":"' in text
    body = response.json()
    assert set(body) == DEVICE_KEYS
    assert len(body["Id"]) == GUID_LEN and body["Id"] == body["Id"].lower()
    assert body["Platform"] in {"iOS", "Android"}
    assert body["LastSeen"].endswith("Z") and len(body["LastSeen"]) == 20
    listing = api.get("/api/devices").content.decode("utf-8")
    assert '"Id":"' + device["Id"] + '"' in listing and '": ' not in listing
    groups = api.get("/api/groups").content.decode("utf-8")
    assert "Göteborg" in groups or "Malmö" in groups  # UTF-8, not \u escapes


def test_seeded_fleet_is_realistic_and_deterministic(app: DuoStationSimulator) -> None:
    assert len(app.devices) == 200
    assert len(app.users) == 160
    assert len(app.groups) == 40
    linked = [d for d in app.devices.values() if d["UserId"] is not None]
    assert len(linked) == 180
    for device in linked:
        user = app.users[device["UserId"]]
        assert device["GroupId"] == user["GroupId"]
        assert device["AccountName"] == user["AccountName"]
    assert all(d["GroupId"] in app.groups for d in app.devices.values())
    names = {t["Name"] for t in app.tags.values()}
    assert {"Kassa", "Fältpersonal", "BYOD", "Lager & Logistik"} <= names
    assert app.device_tags and app.user_tags and app.group_tags and 2 <= len(app.apps) <= 3
    assert any(t["GroupId"] == 0 for t in app.group_tags.values())
    again = DuoStationSimulator(devices=30, seed=7)
    other = DuoStationSimulator(devices=30, seed=8)
    first30 = DuoStationSimulator(devices=30, seed=7)
    assert again.devices == first30.devices and again.users == first30.users
    assert again.devices != other.devices
    assert DuoStationSimulator().devices == {}


# ------------------------------------------------------------------ routing


def test_routing_is_case_insensitive_and_tolerates_trailing_slash(
    api: Api, app: DuoStationSimulator
) -> None:
    device = a_device(app)
    assert api.ok("GET", "/API/Devices/") is not None
    assert api.ok("GET", f"/api/DEVICES/{device['Id'].upper()}/")["Id"] == device["Id"]
    found = api.ok("GET", f"/api/devices?SERIALNUMBER={device['SerialNumber']}")
    assert [d["Id"] for d in found] == [device["Id"]]


def test_unknown_routes_and_methods(api: Api, app: DuoStationSimulator) -> None:
    api.error("GET", "/api/nothing", 404)
    api.error("GET", "/nothing", 404)
    api.error("GET", "/api/groups/1/extra", 404)
    api.error("POST", f"/api/devices/{a_device(app)['Id']}/selfdestruct", 404)
    response = api.call("PATCH", "/api/groups/1", {"name": "x"})
    assert response.status_code == 405 and "PATCH" in response.json()["Message"]
    assert "PUT" in response.headers["Allow"]
    api.error("POST", "/api/devices", 405, {})
    api.error("DELETE", f"/api/devices/{a_device(app)['Id']}", 405)
    api.error("PUT", "/api/devicetags/1", 405, {})
    api.error("PUT", "/api/apps/1", 405, {})
    api.error("GET", f"/api/devices/{a_device(app)['Id']}/wipedevice", 405)


def test_bad_ids(api: Api) -> None:
    assert "abc" in api.error("GET", "/api/groups/abc", 400)
    api.error("GET", "/api/users/1.5", 400)
    api.error("DELETE", "/api/tags/x", 400)
    assert "not-a-guid" in api.error("GET", "/api/devices/not-a-guid", 400)
    api.error("GET", "/api/devices/12345", 400)
    assert "was not found" in api.error("GET", "/api/groups/99999", 404)
    api.error("GET", "/api/devices/00000000-0000-4000-8000-000000000000", 404)
    for resource in ("users", "tags", "devicetags", "usertags", "grouptags", "apps"):
        api.error("GET", f"/api/{resource}/99999", 404)


# ------------------------------------------------------------------ groups


def test_groups_crud_and_put_semantics(api: Api, app: DuoStationSimulator) -> None:
    listing = api.ok("GET", "/api/groups")
    assert len(listing) >= 40 and all(set(g) == GROUP_KEYS for g in listing)
    top = api.create("/api/groups", {"name": "Kiruna", "number": "K-1", "notes": "Norr"})
    child = api.create("/api/groups", {"name": "Gruvan", "parentId": top})
    got = api.ok("GET", f"/api/groups/{child}")
    assert got["ParentId"] == top and got["Path"] == "Kiruna\\Gruvan"
    assert api.ok("GET", f"/api/groups/{top}")["ParentId"] == 0
    root_level = api.create("/api/groups", {"name": "Rot", "parentId": 0})
    assert api.ok("GET", f"/api/groups/{root_level}")["Path"] == "Rot"

    response = api.call("PUT", f"/api/groups/{top}", {"name": "Kiruna Nya"})
    assert response.status_code == 200 and response.content == b""
    assert response.headers["Content-Length"] == "0"
    after = api.ok("GET", f"/api/groups/{top}")
    assert after["Name"] == "Kiruna Nya" and after["Number"] == "K-1" and after["Notes"] == "Norr"
    assert api.ok("GET", f"/api/groups/{child}")["Path"] == "Kiruna Nya\\Gruvan"
    api.ok("PUT", f"/api/groups/{top}", {"Notes": None})  # keys match case-insensitively
    assert api.ok("GET", f"/api/groups/{top}")["Notes"] is None

    api.ok("DELETE", f"/api/groups/{child}")
    api.error("GET", f"/api/groups/{child}", 404)
    api.ok("DELETE", f"/api/groups/{top}")
    assert top not in app.groups


def test_group_number_filter(api: Api) -> None:
    a = api.create("/api/groups", {"name": "Nummer A", "number": "77777"})
    b = api.create("/api/groups", {"name": "Nummer B", "number": "77777"})
    found = api.ok("GET", "/api/groups?number=77777")
    assert sorted(g["Id"] for g in found) == sorted([a, b])
    assert api.ok("GET", "/api/groups?number=nothing-like-it") == []


def test_group_path_lookup(api: Api, app: DuoStationSimulator) -> None:
    goteborg = api.create("/api/groups", {"name": "Göteborgsvägen"})
    it = api.create("/api/groups", {"name": "IT Avd", "parentId": goteborg})
    team = api.create("/api/groups", {"name": "Team Öst", "parentId": it})
    for path in (
        "Göteborgsvägen/IT Avd/Team Öst",
        "Göteborgsvägen\\IT Avd\\Team Öst",
        " göteborgsvägen \\ it avd / TEAM ÖST ",
        "/Göteborgsvägen/IT Avd/Team Öst/",
    ):
        assert api.ok("GET", "/api/groups", params={"path": path})["Id"] == team
    encoded = urllib.parse.quote("Göteborgsvägen\\IT Avd", safe="")
    assert "%5C" in encoded and "%C3%B6" in encoded
    one = api.ok("GET", f"/api/groups?path={encoded}")
    assert one["Id"] == it and one["Path"] == "Göteborgsvägen\\IT Avd"
    # the seeded tree answers by path too
    seeded = next(g for g in app.groups.values() if g["ParentId"] != 0)
    assert (
        api.ok("GET", "/api/groups", params={"Path": app.group_path(seeded["Id"])})["Id"]
        == seeded["Id"]
    )
    assert "Nowhere" in api.error("GET", "/api/groups", 404, params={"path": "Nowhere/At All"})
    api.error("GET", "/api/groups", 404, params={"path": "IT Avd"})  # paths start at the top
    api.error("GET", "/api/groups", 400, params={"path": "/\\/"})


def test_duplicate_group_names_allowed_but_path_is_ambiguous(api: Api) -> None:
    parent = api.create("/api/groups", {"name": "Dubbel"})
    first = api.create("/api/groups", {"name": "Samma", "parentId": parent})
    second = api.create("/api/groups", {"name": "Samma", "parentId": parent})
    assert first != second
    message = api.error("GET", "/api/groups", 409, params={"path": "Dubbel/Samma"})
    assert "Dubbel/Samma" in message and str(first) in message and str(second) in message


def test_group_lost_mode_rule_and_alias(api: Api, app: DuoStationSimulator) -> None:
    full = {
        "name": "Förlorad",
        "lostModeMessage": "Hittad? Ring oss",
        "lostModePhoneNumber": "+46317096066",
        "lostModeFootNote": "IT-support",  # the prose spelling is accepted too
    }
    gid = api.create("/api/groups", full)
    stored = api.ok("GET", f"/api/groups/{gid}")
    assert stored["LostModeFootNode"] == "IT-support"
    assert "lostMode" in api.error(
        "POST", "/api/groups", 400, {"name": "Halv", "lostModeMessage": "bara en"}
    )
    api.error("PUT", f"/api/groups/{gid}", 400, {"lostModePhoneNumber": ""})
    api.error("PUT", f"/api/groups/{gid}", 400, {"lostModeFootNode": None})
    assert app.groups[gid]["LostModeFootNode"] == "IT-support"  # refused PUT changed nothing
    api.ok(
        "PUT",
        f"/api/groups/{gid}",
        {"lostModeMessage": "", "lostModePhoneNumber": None, "lostModeFootNode": ""},
    )
    plain = api.create("/api/groups", {"name": "Utan"})
    api.error("PUT", f"/api/groups/{plain}", 400, {"lostModeMessage": "x"})
    api.ok(
        "PUT",
        f"/api/groups/{plain}",
        {"lostModeMessage": "m", "lostModePhoneNumber": "p", "lostModeFootNode": "f"},
    )


def test_group_validation(api: Api) -> None:
    assert "name" in api.error("POST", "/api/groups", 400, {"notes": "no name"})
    api.error("POST", "/api/groups", 400, {"name": "   "})
    api.error("POST", "/api/groups", 400, {"name": 12})
    api.error("POST", "/api/groups", 400, {"name": "x", "parentId": "one"})
    api.error("POST", "/api/groups", 400, "{not json")
    api.error("POST", "/api/groups", 400, "[1, 2]")
    api.error("POST", "/api/groups", 400)  # empty body
    assert "99999" in api.error("POST", "/api/groups", 404, {"name": "x", "parentId": 99999})
    api.error("PUT", "/api/groups/1", 400, {"name": ""})
    api.error("PUT", "/api/groups/99999", 404, {"name": "x"})


def test_group_delete_refusals(api: Api, app: DuoStationSimulator) -> None:
    seeded_parent = next(g["Id"] for g in app.groups.values() if g["ParentId"] == 0)
    assert "subgroups" in api.error("DELETE", f"/api/groups/{seeded_parent}", 409)

    def fresh() -> int:
        return api.create("/api/groups", {"name": "Tillfällig"})

    g = fresh()
    uid = api.create("/api/users", {"name": "Kvar Kvarsson", "groupId": g})
    message = api.error("DELETE", f"/api/groups/{g}", 409)
    assert f"Group {g}" in message and "users" in message
    api.ok("DELETE", f"/api/users/{uid}")
    api.ok("DELETE", f"/api/groups/{g}")

    g = fresh()
    unassigned = a_device(app, linked=False)
    with app.lock:
        old_group = app.devices[unassigned["Id"]]["GroupId"]
        app.devices[unassigned["Id"]]["GroupId"] = g
    assert "devices" in api.error("DELETE", f"/api/groups/{g}", 409)
    with app.lock:
        app.devices[unassigned["Id"]]["GroupId"] = old_group

    tag = api.create("/api/tags", {"name": "Grupptagg", "groupId": g})
    assert "tags" in api.error("DELETE", f"/api/groups/{g}", 409)
    api.ok("DELETE", f"/api/tags/{tag}")

    other_tag = api.create("/api/tags", {"name": "Länk"})
    link = api.create("/api/grouptags", {"groupId": g, "tagId": other_tag})
    assert "group tags" in api.error("DELETE", f"/api/groups/{g}", 409)
    api.ok("DELETE", f"/api/grouptags/{link}")
    api.ok("DELETE", f"/api/groups/{g}")


# ------------------------------------------------------------------ users


def test_users_crud(api: Api, app: DuoStationSimulator) -> None:
    listing = api.ok("GET", "/api/users")
    assert len(listing) >= 160 and all(set(u) == USER_KEYS for u in listing)
    group = next(iter(app.groups))
    uid = api.create(
        "/api/users",
        {
            "name": "Åsa Öberg",
            "email": "asa.oberg@example.se",
            "phoneNumber": "+46701234567",
            "accountGroup": "ad.example.se",
            "accountName": "asa.oberg",
            "groupId": group,
            "company": "Ångström AB",
            "office": "Malmö",
            "department": "IT",
            "position": "Tekniker",
        },
    )
    user = api.ok("GET", f"/api/users/{uid}")
    assert user["Name"] == "Åsa Öberg" and user["GroupId"] == group
    assert user["AccountGroup"] == "ad.example.se" and user["AccountName"] == "asa.oberg"
    api.ok("PUT", f"/api/users/{uid}", {"office": "Umeå", "position": None})
    after = api.ok("GET", f"/api/users/{uid}")
    assert after["Office"] == "Umeå" and after["Position"] is None
    assert after["Email"] == "asa.oberg@example.se" and after["Department"] == "IT"
    api.ok("PUT", f"/api/users/{uid}", {"email": "asa.ny@example.se"})
    assert [u["Id"] for u in api.ok("GET", "/api/users?email=ASA.NY@example.se")] == [uid]
    assert api.ok("GET", "/api/users?email=asa.oberg@example.se") == []
    api.ok("DELETE", f"/api/users/{uid}")
    api.error("GET", f"/api/users/{uid}", 404)


def test_user_validation(api: Api) -> None:
    api.error("POST", "/api/users", 400, {"email": "no.name@example.se"})
    api.error("POST", "/api/users", 400, {"name": "x", "email": 5})
    api.error("POST", "/api/users", 400, {"name": "x", "groupId": "abc"})
    api.error("POST", "/api/users", 400, {"name": "x", "groupId": True})
    api.error("POST", "/api/users", 404, {"name": "x", "groupId": 99999})
    api.error("PUT", "/api/users/1", 404, {"groupId": 99999})
    api.error("PUT", "/api/users/1", 400, {"name": None})
    api.error("GET", "/api/users?groupId=abc", 400)
    api.error("GET", "/api/users?tagId=x", 400)


def test_user_filters_combine(api: Api, app: DuoStationSimulator) -> None:
    g1 = api.create("/api/groups", {"name": "Filtergrupp 1"})
    g2 = api.create("/api/groups", {"name": "Filtergrupp 2"})
    tag = api.create("/api/tags", {"name": "Filtertagg"})
    common = {"phoneNumber": "+46709999999", "accountName": "filter.konto"}
    a = api.create("/api/users", {"name": "A", "email": "f@example.se", "groupId": g1, **common})
    b = api.create("/api/users", {"name": "B", "email": "f@example.se", "groupId": g2, **common})
    c = api.create("/api/users", {"name": "C", "email": "g@example.se", "groupId": g1})
    api.create("/api/usertags", {"userId": a, "tagId": tag})
    api.create("/api/usertags", {"userId": c, "tagId": tag})

    def ids(query: str) -> list[int]:
        return sorted(u["Id"] for u in api.ok("GET", "/api/users?" + query))

    assert ids("email=F%40example.se") == [a, b]
    assert ids("phoneNumber=%2B46709999999") == [a, b]
    assert ids("account=FILTER.KONTO") == [a, b]
    assert ids(f"groupId={g1}") == [a, c]
    assert ids(f"tagId={tag}") == [a, c]
    assert ids(f"email=f%40example.se&groupId={g1}") == [a]
    assert ids(f"tagId={tag}&groupId={g1}&account=filter.konto") == [a]
    assert ids(f"tagId={tag}&email=g%40example.se") == [c]
    assert ids(f"groupId={g2}&tagId={tag}") == []
    assert ids("email=") == sorted(app.users)  # an empty value is no filter
    seeded = app.users[1]
    assert ids("account=" + urllib.parse.quote(seeded["AccountName"])) == [1]


def test_user_group_change_moves_devices_and_delete_refused(
    api: Api, app: DuoStationSimulator
) -> None:
    device = a_device(app)
    uid = device["UserId"]
    target = api.create("/api/groups", {"name": "Flyttgrupp"})
    with app.lock:
        owned = [d["Id"] for d in app.devices.values() if d["UserId"] == uid]
    api.ok("PUT", f"/api/users/{uid}", {"groupId": target})
    assert api.ok("GET", f"/api/users/{uid}")["GroupId"] == target
    moved = api.ok("GET", f"/api/devices?userId={uid}")
    assert sorted(d["Id"] for d in moved) == sorted(owned)
    assert all(d["GroupId"] == target for d in moved)
    assert [d["Id"] for d in api.ok("GET", f"/api/devices?groupId={target}")] == [
        d["Id"] for d in moved
    ]
    message = api.error("DELETE", f"/api/users/{uid}", 409)
    assert f"User {uid}" in message and "devices" in message


def test_user_delete_removes_its_user_tags(api: Api, app: DuoStationSimulator) -> None:
    uid = api.create("/api/users", {"name": "Kortlivad"})
    tag = api.create("/api/tags", {"name": "Kortlivad tagg"})
    link = api.create("/api/usertags", {"userId": uid, "tagId": tag})
    api.ok("DELETE", f"/api/users/{uid}")
    assert link not in app.user_tags
    api.ok("DELETE", f"/api/tags/{tag}")


# ------------------------------------------------------------------ devices


def test_device_filters_combine(api: Api, app: DuoStationSimulator) -> None:
    device = a_device(app)
    uid, gid, serial = device["UserId"], device["GroupId"], device["SerialNumber"]
    account = app.users[uid]["AccountName"]
    tag = api.create("/api/tags", {"name": "Enhetsfilter"})
    api.create("/api/devicetags", {"deviceId": device["Id"], "tagId": tag})
    other = next(d for d in app.devices.values() if d["UserId"] is not None and d["UserId"] != uid)
    api.create("/api/devicetags", {"deviceId": other["Id"], "tagId": tag})

    def ids(query: str) -> list[str]:
        return sorted(d["Id"] for d in api.ok("GET", "/api/devices?" + query))

    def expect(pred: Any) -> list[str]:
        with app.lock:
            return sorted(d["Id"] for d in app.devices.values() if pred(d))

    assert ids("serialNumber=" + serial.lower()) == [device["Id"]]
    assert ids(f"groupId={gid}") == expect(lambda d: d["GroupId"] == gid)
    assert ids(f"userId={uid}") == expect(lambda d: d["UserId"] == uid)
    assert ids("accountName=" + urllib.parse.quote(account.upper())) == expect(
        lambda d: d["AccountName"] == account
    )
    assert ids(f"tagId={tag}") == sorted([device["Id"], other["Id"]])
    assert ids(f"tagId={tag}&groupId={gid}&userId={uid}") == [device["Id"]]
    assert ids(f"tagId={tag}&userId={other['UserId']}") == [other["Id"]]
    assert ids(f"tagId={tag}&groupId={other['GroupId']}") == expect(
        lambda d: d["Id"] in (device["Id"], other["Id"]) and d["GroupId"] == other["GroupId"]
    )
    assert ids(f"serialNumber={serial}&userId={uid}&accountName={account}") == [device["Id"]]
    assert ids(f"serialNumber={serial}&groupId=99999") == []
    assert ids("serialNumber=NO-SUCH-SERIAL") == []
    assert len(ids("")) == len(app.devices)
    api.error("GET", "/api/devices?userId=abc", 400)


def test_device_relink(api: Api, app: DuoStationSimulator) -> None:
    device = a_device(app, linked=False)
    group = api.create("/api/groups", {"name": "Ny ägares grupp"})
    uid = api.create(
        "/api/users", {"name": "Ny Ägare", "accountName": "ny.agare", "groupId": group}
    )
    response = api.call("PUT", f"/api/devices/{device['Id']}", {"userId": uid})
    assert response.status_code == 200 and response.content == b""
    got = api.ok("GET", f"/api/devices/{device['Id']}")
    assert (got["UserId"], got["GroupId"], got["AccountName"]) == (uid, group, "ny.agare")
    assert [d["Id"] for d in api.ok("GET", f"/api/devices?userId={uid}")] == [device["Id"]]
    assert [d["Id"] for d in api.ok("GET", "/api/devices?accountName=ny.agare")] == [device["Id"]]
    api.error("PUT", f"/api/devices/{device['Id']}", 400, {})
    api.error("PUT", f"/api/devices/{device['Id']}", 400, {"userId": "abc"})
    api.error("PUT", f"/api/devices/{device['Id']}", 400, {"userId": None})
    assert "99999" in api.error("PUT", f"/api/devices/{device['Id']}", 404, {"userId": 99999})
    api.error("PUT", "/api/devices/not-a-guid", 400, {"userId": uid})
    api.error("PUT", "/api/devices/00000000-0000-4000-8000-000000000000", 404, {"userId": uid})


# ------------------------------------------------------------------ tags and links


def test_tags_crud_and_refusals(api: Api, app: DuoStationSimulator) -> None:
    assert {t["Name"] for t in api.ok("GET", "/api/tags")} >= {"Kassa", "BYOD"}
    group = next(iter(app.groups))
    tid = api.create("/api/tags", {"name": "Ny tagg", "description": "Beskrivning"})
    assert api.ok("GET", f"/api/tags/{tid}") == {
        "Id": tid,
        "Name": "Ny tagg",
        "Description": "Beskrivning",
        "GroupId": None,
    }
    api.ok("PUT", f"/api/tags/{tid}", {"groupId": group})
    assert api.ok("GET", f"/api/tags/{tid}")["Description"] == "Beskrivning"
    assert api.ok("GET", f"/api/tags/{tid}")["GroupId"] == group
    api.error("POST", "/api/tags", 400, {"description": "no name"})
    api.error("POST", "/api/tags", 404, {"name": "x", "groupId": 99999})
    api.error("PUT", f"/api/tags/{tid}", 400, {"groupId": "x"})

    device, user = a_device(app), next(iter(app.users))
    for path, body, what in (
        ("/api/devicetags", {"deviceId": device["Id"], "tagId": tid}, "devices"),
        ("/api/usertags", {"userId": user, "tagId": tid}, "users"),
        ("/api/grouptags", {"groupId": 0, "tagId": tid}, "groups"),
    ):
        link = api.create(path, body)
        message = api.error("DELETE", f"/api/tags/{tid}", 409)
        assert f"Tag {tid}" in message and what in message
        api.ok("DELETE", f"{path}/{link}")
    api.ok("DELETE", f"/api/tags/{tid}")
    api.error("GET", f"/api/tags/{tid}", 404)


def test_device_tags(api: Api, app: DuoStationSimulator) -> None:
    device = a_device(app)
    tag = api.create("/api/tags", {"name": "Enhetstagg"})
    link = api.create("/api/devicetags", {"deviceId": device["Id"].upper(), "tagId": tag})
    got = api.ok("GET", f"/api/devicetags/{link}")
    assert got == {
        "Id": link,
        "DeviceId": device["Id"],
        "TagId": tag,
        "SerialNumber": device["SerialNumber"],
    }
    by_device = api.ok("GET", f"/api/devicetags?deviceId={device['Id']}")
    assert link in [t["Id"] for t in by_device] and all(
        t["DeviceId"] == device["Id"] for t in by_device
    )
    by_serial = api.ok("GET", f"/api/devicetags?serialNumber={device['SerialNumber']}")
    assert by_serial == by_device
    both = api.ok(
        "GET", f"/api/devicetags?deviceId={device['Id']}&serialNumber={device['SerialNumber']}"
    )
    assert both == by_device
    other = next(d for d in app.devices.values() if d["Id"] != device["Id"])
    assert (
        api.ok(
            "GET", f"/api/devicetags?deviceId={device['Id']}&serialNumber={other['SerialNumber']}"
        )
        == []
    )
    assert len(api.ok("GET", "/api/devicetags")) == len(app.device_tags)
    assert "already" in api.error(
        "POST", "/api/devicetags", 409, {"deviceId": device["Id"], "tagId": tag}
    )
    api.error("POST", "/api/devicetags", 400, {"tagId": tag})
    api.error("POST", "/api/devicetags", 400, {"deviceId": "nope", "tagId": tag})
    api.error("POST", "/api/devicetags", 400, {"deviceId": device["Id"]})
    api.error(
        "POST",
        "/api/devicetags",
        404,
        {"deviceId": "00000000-0000-4000-8000-000000000000", "tagId": tag},
    )
    api.error("POST", "/api/devicetags", 404, {"deviceId": device["Id"], "tagId": 99999})
    api.error("GET", "/api/devicetags?deviceId=nope", 400)
    api.ok("DELETE", f"/api/devicetags/{link}")
    api.error("GET", f"/api/devicetags/{link}", 404)
    api.error("DELETE", f"/api/devicetags/{link}", 404)


def test_user_tags(api: Api, app: DuoStationSimulator) -> None:
    uid = api.create("/api/users", {"name": "Märta Ågren", "email": "marta@example.se"})
    tag = api.create("/api/tags", {"name": "Användartagg"})
    link = api.create("/api/usertags", {"userId": str(uid), "tagId": str(tag)})  # quoted ids
    assert api.ok("GET", f"/api/usertags/{link}") == {
        "Id": link,
        "UserId": uid,
        "TagId": tag,
        "UserName": "Märta Ågren",
    }
    api.ok("PUT", f"/api/users/{uid}", {"name": "Märta Ågren-Öhman"})
    assert api.ok("GET", f"/api/usertags/{link}")["UserName"] == "Märta Ågren-Öhman"
    assert [t["Id"] for t in api.ok("GET", f"/api/usertags?userId={uid}")] == [link]
    assert [t["Id"] for t in api.ok("GET", "/api/usertags?email=MARTA%40example.se")] == [link]
    assert [
        t["Id"] for t in api.ok("GET", f"/api/usertags?userId={uid}&email=marta%40example.se")
    ] == [link]
    assert api.ok("GET", "/api/usertags?userId=1&email=marta%40example.se") == []
    assert len(api.ok("GET", "/api/usertags")) == len(app.user_tags)
    api.error("POST", "/api/usertags", 409, {"userId": uid, "tagId": tag})
    api.error("POST", "/api/usertags", 400, {"userId": "abc", "tagId": tag})
    api.error("POST", "/api/usertags", 400, {"tagId": tag})
    api.error("POST", "/api/usertags", 404, {"userId": 99999, "tagId": tag})
    api.error("GET", "/api/usertags?userId=abc", 400)
    api.ok("DELETE", f"/api/usertags/{link}")
    api.error("GET", f"/api/usertags/{link}", 404)


def test_group_tags(api: Api, app: DuoStationSimulator) -> None:
    group = api.create("/api/groups", {"name": "Grupptaggad"})
    tag = api.create("/api/tags", {"name": "Grupptagg 2"})
    to_all = api.create("/api/grouptags", {"groupId": 0, "tagId": tag})
    to_group = api.create("/api/grouptags", {"groupId": str(group), "tagId": tag})
    assert api.ok("GET", f"/api/grouptags/{to_all}") == {"Id": to_all, "GroupId": 0, "TagId": tag}
    assert api.ok("GET", f"/api/grouptags/{to_group}")["GroupId"] == group
    assert len(api.ok("GET", "/api/grouptags")) == len(app.group_tags)
    api.error("POST", "/api/grouptags", 409, {"groupId": 0, "tagId": tag})
    api.error("POST", "/api/grouptags", 404, {"groupId": 99999, "tagId": tag})
    api.error("POST", "/api/grouptags", 400, {"tagId": tag})
    api.ok("DELETE", f"/api/grouptags/{to_all}")
    api.ok("DELETE", f"/api/grouptags/{to_group}")
    api.error("DELETE", f"/api/grouptags/{to_group}", 404)


# ------------------------------------------------------------------ apps

APP = {
    "name": "Lagerappen",
    "description": "Inventering",
    "company": "Öresund Data",
    "packageId": "se.oresund.lager",
    "versionText": "1.0",
    "versionNumber": 10,
    "platform": 1,
    "size": 1024,
    "store": 1,
    "storeId": "se.oresund.lager",
    "imageUrl": "https://apps.example.se/lager.png",
}


def test_apps_add_or_update(api: Api) -> None:
    listing = api.ok("GET", "/api/apps")
    assert len(listing) >= 2 and all(set(a) == APP_KEYS for a in listing)
    first = api.create("/api/apps", APP)
    again = api.create("/api/apps", {**APP, "versionText": "1.1", "description": None})
    assert again == first
    got = api.ok("GET", f"/api/apps/{first}")
    assert got["VersionText"] == "1.1" and got["Description"] is None
    assert got["VersionNumber"] == 10 and got["ImageUrl"] == APP["imageUrl"]
    swapped = {k: v for k, v in APP.items() if k != "imageUrl"} | {"imageData": "iVBORw0KGgo="}
    assert api.create("/api/apps", swapped) == first
    got = api.ok("GET", f"/api/apps/{first}")
    assert got["ImageData"] == "iVBORw0KGgo=" and got["ImageUrl"] is None
    in_house = api.create(
        "/api/apps", {**APP, "store": 2, "storeId": "https://apps.example.se/lager.apk"}
    )
    assert in_house != first
    ios = api.create("/api/apps", {**APP, "platform": 0, "store": 0, "storeId": "1234567890"})
    assert ios not in (first, in_house)
    mac = api.create(
        "/api/apps",
        {**APP, "platform": 2, "store": 2, "storeId": "https://apps.example.se/Lager.PKG?v=2"},
    )
    assert mac not in (first, in_house, ios)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"name": None}, "name"),
        ({"company": ""}, "company"),
        ({"packageId": None}, "packageId"),
        ({"versionText": None}, "versionText"),
        ({"storeId": None}, "storeId"),
        ({"platform": None}, "platform"),
        ({"platform": 4}, "platform"),
        ({"platform": "1"}, "platform"),
        ({"store": 3}, "store"),
        ({"size": -1}, "size"),
        ({"size": "1024"}, "size"),
        ({"size": None}, "size"),
        ({"versionNumber": "ten"}, "versionNumber"),
        ({"imageData": "iVBORw0KGgo="}, "imageUrl"),  # both images
        ({"imageUrl": None}, "imageUrl"),  # neither image
        ({"imageUrl": "ftp://x/y.png"}, "imageUrl"),
        ({"imageUrl": None, "imageData": "not base64!"}, "imageData"),
        ({"storeId": "se.other.app"}, "packageId"),  # store 1 needs storeId == packageId
        ({"store": 0, "platform": 0, "storeId": "id12345"}, "App Store"),
        ({"store": 2, "platform": 2, "storeId": "https://x.se/app.dmg"}, ".pkg"),
        ({"store": 2, "platform": 2, "storeId": "apps/lager.pkg"}, ".pkg"),
    ],
)
def test_app_validation(api: Api, change: dict[str, Any], needle: str) -> None:
    body = {**APP, **change}
    assert needle in api.error("POST", "/api/apps", 400, body)


# ------------------------------------------------------------------ commands


def test_commands_are_recorded(api: Api, app: DuoStationSimulator) -> None:
    device = a_device(app)["Id"]
    app_id = next(iter(app.apps))
    before = len(app.commands)
    for command, body in (
        ("inventorydevice", None),
        ("installapp", {"appId": app_id, "vpp": True}),
        ("removeapp", {"identifier": "com.x.y"}),
        ("lockdevice", None),
        ("wipedevice", None),
        ("clearpasscode", None),
        ("sendmessage", {"message": "Hej Åsa, ring IT!"}),
    ):
        response = api.call("POST", f"/api/devices/{device}/{command}", body)
        assert response.status_code == 200 and response.content == b"", command
    api.ok("POST", f"/api/devices/{device.upper()}/InstallApp", {"appId": app_id})
    recorded = app.commands[before:]
    assert [c[1] for c in recorded] == [
        "inventorydevice", "installapp", "removeapp", "lockdevice", "wipedevice",
        "clearpasscode", "sendmessage", "installapp",
    ]  # fmt: skip
    assert all(c[0] == device for c in recorded)
    assert recorded[1][2] == {"appId": app_id, "vpp": True}
    assert recorded[6][2] == {"message": "Hej Åsa, ring IT!"}
    assert [c for c in app.commands if c[1] == "wipedevice" and c[0] == device] == [
        (device, "wipedevice", {})
    ]


def test_command_validation(api: Api, app: DuoStationSimulator) -> None:
    device = a_device(app)["Id"]
    before = len(app.commands)
    api.error("POST", f"/api/devices/{device}/installapp", 400, {"vpp": True})
    api.error("POST", f"/api/devices/{device}/installapp", 400, {"appId": "x"})
    api.error("POST", f"/api/devices/{device}/installapp", 400, {"appId": 1, "vpp": "yes"})
    api.error("POST", f"/api/devices/{device}/installapp", 404, {"appId": 99999})
    api.error("POST", f"/api/devices/{device}/removeapp", 400, {})
    api.error("POST", f"/api/devices/{device}/sendmessage", 400, {"message": ""})
    api.error("POST", f"/api/devices/{device}/sendmessage", 400)
    api.error("POST", "/api/devices/00000000-0000-4000-8000-000000000000/wipedevice", 404)
    api.error("POST", "/api/devices/nope/wipedevice", 400)
    assert len(app.commands) == before


# ------------------------------------------------------------------ id shapes, threads, size


@pytest.mark.parametrize(
    ("shape", "expected"),
    [("number", "{id}"), ("string", '"{id}"'), ("object", '{{"Id":{id}}}')],
)
def test_id_shapes(shape: str, expected: str) -> None:
    sim = start_simulator(id_shape=shape, username="u", password="p")
    try:
        for path, body in (("/api/groups", {"name": "G"}), ("/api/tags", {"name": "T"})):
            response = requests.post(sim.base_url + path, json=body, auth=("u", "p"), timeout=10)
            assert response.status_code == 200
            assert response.text == expected.format(id=1)
    finally:
        sim.stop()
    with pytest.raises(ValueError, match="id_shape"):
        DuoStationSimulator(id_shape="guid")


def test_concurrent_creates_get_unique_ids(server: SimServer) -> None:
    ids: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        with requests.Session() as session:
            session.auth = AUTH
            for n in range(15):
                try:
                    response = session.post(
                        server.base_url + "/api/tags", json={"name": f"Parallell {n}"}, timeout=10
                    )
                    ids.append(response.json())
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(ids) == 90 and len(set(ids)) == 90


def test_large_listing_is_streamed() -> None:
    sim = start_simulator(devices=5000, seed=3)
    try:
        response = requests.get(sim.base_url + "/api/devices", auth=AUTH, timeout=30)
        assert response.status_code == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        devices = response.json()
        assert len(devices) == 5000
        assert len({d["Id"] for d in devices}) == 5000
        assert all(len(d["Id"]) == GUID_LEN for d in devices)
        assert '": ' not in response.text
        small = requests.get(sim.base_url + "/api/groups", auth=AUTH, timeout=10)
        assert "Content-Length" in small.headers
    finally:
        sim.stop()


# ------------------------------------------------------------------ faults


def test_faults_through_this_app(server: SimServer) -> None:
    url = server.base_url + "/api/tags"
    try:
        server.faults.add(
            **cast(dict[str, Any], server.faults.parse_spec("status:429:retry_after=2"))
        )
        limited = requests.get(url, auth=AUTH, timeout=10)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
        assert limited.json() == {"Message": "simulated fault"}
        assert requests.get(url, auth=AUTH, timeout=10).status_code == 200  # fired once

        server.faults.add("drop")
        with pytest.raises(requests.ConnectionError):
            requests.get(url, auth=AUTH, timeout=10)

        server.faults.add("truncate")
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
            requests.get(url, auth=AUTH, timeout=10)

        server.faults.add("status", status=503, methods=["POST"], path=r"/api/groups$")
        assert (
            requests.post(
                server.base_url + "/api/groups", json={"name": "x"}, auth=AUTH, timeout=10
            ).status_code
            == 503
        )
        assert requests.get(url, auth=AUTH, timeout=10).status_code == 200
    finally:
        server.faults.clear()


# ------------------------------------------------------------------ command line


def test_main_prints_url_and_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[SimServer] = []

    def fake_serve(self: SimServer) -> None:
        started.append(self)
        self.stop()

    monkeypatch.setattr(SimServer, "serve_until_interrupted", fake_serve)
    code = main(
        [
            "--port", "0", "--devices", "5", "--username", "admin", "--password", "hemligt",
            "--latency-ms", "20", "--fault", "status:429:retry_after=2:times=3",
            "--fault", "drop:methods=PUT",
        ]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    (sim,) = started
    assert sim.base_url in out and "admin" in out and "hemligt" in out
    assert sim.faults.latency_s == pytest.approx(0.02)
    fired = sim.faults.pick("GET", "/api/groups")
    assert [(f.kind.value, f.status, f.retry_after, f.times) for f in fired] == [
        ("status", 429, "2", 3)
    ]
    assert cast(DuoStationSimulator, sim.app).username == "admin"
    assert len(cast(DuoStationSimulator, sim.app).devices) == 5
    with pytest.raises(SystemExit):
        main(["--fault", "explode"])
