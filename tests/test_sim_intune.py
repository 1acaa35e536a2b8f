"""The Intune (Microsoft Graph v1.0) simulator over real HTTP on loopback, with plain
``requests``: the token endpoint and its AADSTS refusals, token expiry, every endpoint,
``$filter``/``$select``/``$top``/``$count``, paging with ``@odata.nextLink``, PATCH
semantics, Graph's error bodies with request ids, and the fault switchboard's 429."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

try:  # once the package mapping exists (pyproject), else straight from the folder
    from mdmbridge_intune.simulator import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_TENANT_ID,
        IntuneSimulator,
        main,
        start_simulator,
    )
except ModuleNotFoundError:
    from adapters.intune.simulator import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_TENANT_ID,
        IntuneSimulator,
        main,
        start_simulator,
    )

from mdmbridge.simulation.seed import FleetGenerator
from mdmbridge.simulation.server import SimServer

DEVICES = 150
SEED = 7
DEVICE_PAGE = 40
DIRECTORY_PAGE = 25
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
USER_DEFAULT = {
    "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
}  # fmt: skip
STRONG_PASSWORD = "Hej-Göteborg-2026!"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    server = start_simulator(
        devices=DEVICES,
        seed=SEED,
        device_page_size=DEVICE_PAGE,
        directory_page_size=DIRECTORY_PAGE,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app(sim: SimServer) -> Iterator[IntuneSimulator]:
    assert isinstance(sim.app, IntuneSimulator)
    sim.app.reset_hooks()
    yield sim.app
    sim.faults.clear()
    sim.app.reset_hooks()


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def token_url(sim: SimServer, tenant: str = DEFAULT_TENANT_ID) -> str:
    return f"{sim.base_url}/{tenant}/oauth2/v2.0/token"


def ask_token(http: requests.Session, sim: SimServer, **overrides: str | None) -> requests.Response:
    form: dict[str, str | None] = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "scope": GRAPH_SCOPE,
    }
    form.update(overrides)
    tenant = form.pop("tenant", None) or DEFAULT_TENANT_ID
    data = {key: value for key, value in form.items() if value is not None}
    return http.post(token_url(sim, tenant), data=data, timeout=10)


@pytest.fixture(scope="module")
def token(sim: SimServer, http: requests.Session) -> str:
    response = ask_token(http, sim)
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


class Graph:
    """Tiny Graph client for the tests: bearer header, base URL, JSON helpers."""

    def __init__(self, http: requests.Session, sim: SimServer, token: str) -> None:
        self.http, self.sim, self.token = http, sim, token

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.sim.base_url}/v1.0/{path.lstrip('/')}"

    def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> requests.Response:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.http.request(method, self.url(path), headers=all_headers, timeout=10, **kw)

    def get(self, path: str, **kw: Any) -> dict[str, Any]:
        response = self.call("GET", path, **kw)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("application/json")
        body: dict[str, Any] = response.json()
        return body

    def all_pages(self, path: str, **kw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Follow ``@odata.nextLink`` to the end; returns (items, pages)."""
        pages: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        url: str | None = path
        params = kw.pop("params", None)
        seen: set[str] = set()
        while url is not None:
            body = self.get(url, params=params, **kw)
            params = None  # the nextLink carries every query option
            pages.append(body)
            items.extend(body["value"])
            url = body.get("@odata.nextLink")
            if url is not None:
                assert url not in seen, "a nextLink repeated itself"
                seen.add(url)
        return items, pages


@pytest.fixture
def graph(http: requests.Session, sim: SimServer, token: str) -> Graph:
    return Graph(http, sim, token)


def graph_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code, error
    inner = error["innerError"]
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert inner["request-id"] == response.headers["request-id"]
    message: str = error["message"]
    return message


def new_user_body(local: str, **extra: Any) -> dict[str, Any]:
    body = {
        "accountEnabled": True,
        "displayName": f"Test {local}",
        "mailNickname": local,
        "userPrincipalName": f"{local}@contoso.onmicrosoft.com",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": STRONG_PASSWORD},
    }
    body.update(extra)
    return body


def create_user(graph: Graph, local: str, **extra: Any) -> dict[str, Any]:
    response = graph.call("POST", "users", json=new_user_body(local, **extra))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_group(graph: Graph, name: str, nickname: str) -> dict[str, Any]:
    body = {
        "displayName": name,
        "mailEnabled": False,
        "mailNickname": nickname,
        "securityEnabled": True,
    }
    response = graph.call("POST", "groups", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def group_named(graph: Graph, name: str) -> dict[str, Any]:
    found = graph.get("groups", params={"$filter": f"displayName eq '{name}'"})["value"]
    assert len(found) == 1, found
    group: dict[str, Any] = found[0]
    return group


# ------------------------------------------------------------------------- token endpoint


def test_token_success(sim: SimServer, http: requests.Session) -> None:
    first, second = ask_token(http, sim), ask_token(http, sim)
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and isinstance(body["expires_in"], int)
    assert body["access_token"].count(".") == 2
    assert body["access_token"] != second.json()["access_token"]
    assert "no-store" in first.headers["Cache-Control"]
    assert first.headers["x-ms-request-id"]


def test_token_tenant_by_domain_basic_auth_and_own_scope(
    sim: SimServer, http: requests.Session
) -> None:
    assert ask_token(http, sim, tenant="contoso.onmicrosoft.com").status_code == 200
    assert ask_token(http, sim, tenant=DEFAULT_TENANT_ID.upper()).status_code == 200
    response = http.post(
        token_url(sim),
        data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    # a national-cloud style scope: the Graph host (here the simulator itself) + /.default
    assert ask_token(http, sim, scope=f"{sim.base_url}/.default").status_code == 200
    assert (
        ask_token(http, sim, scope="00000003-0000-0000-c000-000000000000/.default").status_code
        == 200
    )


def aadsts(response: requests.Response, status: int, error: str, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert set(body) == {
        "error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id",
        "error_uri",
    }  # fmt: skip
    description: str = body["error_description"]
    assert description.startswith(f"AADSTS{code}: ")
    assert f"\r\nTrace ID: {body['trace_id']}\r\n" in description
    assert body["error_uri"].endswith(f"?code={code}")
    assert DEFAULT_CLIENT_SECRET not in response.text
    return description


def test_wrong_secret_is_401_aadsts7000215(
    sim: SimServer, http: requests.Session, app: IntuneSimulator
) -> None:
    refused = app.tokens.refused
    text = aadsts(
        ask_token(http, sim, client_secret="not-the-secret"), 401, "invalid_client", 7000215
    )
    assert text.startswith("AADSTS7000215: Invalid client secret provided.")
    assert DEFAULT_CLIENT_ID in text
    assert app.tokens.refused == refused + 1


def test_unknown_tenant_is_400_aadsts90002(sim: SimServer, http: requests.Session) -> None:
    text = aadsts(
        ask_token(http, sim, tenant="fabrikam.onmicrosoft.com"), 400, "invalid_request", 90002
    )
    assert "Tenant 'fabrikam.onmicrosoft.com' not found" in text


def test_unknown_client_is_400_aadsts700016(sim: SimServer, http: requests.Session) -> None:
    other = "11111111-2222-3333-4444-555555555555"
    text = aadsts(ask_token(http, sim, client_id=other), 400, "unauthorized_client", 700016)
    assert f"Application with identifier '{other}' was not found" in text


@pytest.mark.parametrize(
    ("overrides", "status", "error", "code"),
    [
        ({"grant_type": None}, 400, "invalid_request", 900144),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"client_id": None}, 400, "invalid_request", 900144),
        ({"scope": None}, 400, "invalid_request", 900144),
        ({"scope": "User.Read.All"}, 400, "invalid_scope", 1002012),
        ({"scope": "https://outlook.office.com/.default"}, 400, "invalid_resource", 500011),
        ({"client_secret": None}, 401, "invalid_client", 7000216),
    ],
)
def test_token_refusals(
    sim: SimServer,
    http: requests.Session,
    overrides: dict[str, str | None],
    status: int,
    error: str,
    code: int,
) -> None:
    aadsts(ask_token(http, sim, **overrides), status, error, code)


def test_token_endpoint_wants_a_form_post(sim: SimServer, http: requests.Session) -> None:
    aadsts(http.get(token_url(sim), timeout=10), 400, "invalid_request", 900561)
    as_json = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
               "client_secret": DEFAULT_CLIENT_SECRET, "scope": GRAPH_SCOPE}  # fmt: skip
    aadsts(http.post(token_url(sim), json=as_json, timeout=10), 400, "invalid_request", 900144)


def test_tokens_expire_after_their_lifetime(http: requests.Session) -> None:
    short = start_simulator(devices=5, token_lifetime_s=1)
    try:
        response = ask_token(http, short)
        assert response.json()["expires_in"] == 1
        graph = Graph(http, short, response.json()["access_token"])
        assert graph.call("GET", "users").status_code == 200
        time.sleep(1.3)
        expired = graph.call("GET", "users", headers={"client-request-id": "abc-123"})
        message = graph_error(expired, 401, "InvalidAuthenticationToken")
        assert message == "Access token has expired or is not yet valid."
        assert expired.json()["error"]["innerError"]["client-request-id"] == "abc-123"
        assert expired.headers["WWW-Authenticate"].startswith("Bearer ")
        graph.token = ask_token(http, short).json()["access_token"]
        assert graph.call("GET", "users").status_code == 200
    finally:
        short.stop()


def test_missing_unknown_expired_and_revoked_tokens(
    sim: SimServer, http: requests.Session, app: IntuneSimulator
) -> None:
    users = f"{sim.base_url}/v1.0/users"
    assert (
        graph_error(http.get(users, timeout=10), 401, "InvalidAuthenticationToken")
        == "Access token is empty."
    )
    assert "not well formed" in graph_error(
        http.get(users, headers={"Authorization": "Bearer nonsense"}, timeout=10),
        401,
        "InvalidAuthenticationToken",
    )
    fresh = Graph(http, sim, ask_token(http, sim).json()["access_token"])
    assert fresh.call("GET", "users").status_code == 200
    app.tokens.expire_all()
    graph_error(fresh.call("GET", "users"), 401, "InvalidAuthenticationToken")
    fresh.token = ask_token(http, sim).json()["access_token"]
    app.tokens.revoke_all()
    assert "validation failure" in graph_error(
        fresh.call("GET", "users"), 401, "InvalidAuthenticationToken"
    )


# ------------------------------------------------------------------------- Graph basics


@pytest.fixture
def live(http: requests.Session, sim: SimServer) -> Graph:
    """A Graph client with a token of its own (other tests expire or revoke tokens)."""
    return Graph(http, sim, ask_token(http, sim).json()["access_token"])


def test_every_answer_has_a_request_id(live: Graph) -> None:
    ok = live.call("GET", "users", headers={"client-request-id": "c0ffee"})
    assert ok.headers["request-id"] and ok.headers["client-request-id"] == "c0ffee"
    assert ok.json()["@odata.context"].endswith("/v1.0/$metadata#users")
    bad = live.call("GET", "widgets")
    assert graph_error(bad, 400, "BadRequest") == "Resource not found for the segment 'widgets'."
    assert bad.headers["request-id"] != ok.headers["request-id"]
    wrong_version = live.http.get(f"{live.sim.base_url}/v2.0/users", timeout=10)
    assert graph_error(wrong_version, 404, "ResourceNotFound") == "Invalid version: v2.0"


def test_throttling_fault_answers_429_with_graphs_body(
    sim: SimServer, app: IntuneSimulator, live: Graph
) -> None:
    sim.faults.add_spec("status:429:retry_after=3:times=1:path=^/v1.0/users$")
    throttled = live.call("GET", "users")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.headers["request-id"]
    error = throttled.json()["error"]
    assert error["code"] == "TooManyRequests" and error["message"] == "Too many requests."
    assert error["innerError"]["request-id"] == throttled.headers["request-id"]
    assert live.call("GET", "users").status_code == 200  # times=1
    sim.faults.add("status", status=503, retry_after="1", path="managedDevices")
    assert (
        live.call("GET", "deviceManagement/managedDevices").json()["error"]["code"]
        == "serviceNotAvailable"
    )


def test_forbidden_permission(app: IntuneSimulator, live: Graph) -> None:
    app.forbid(r"/managedDevices/[^/]+/wipe$")
    device_id = app.ids("devices")[0]
    response = live.call("POST", f"deviceManagement/managedDevices/{device_id}/wipe", json={})
    assert graph_error(response, 403, "Authorization_RequestDenied").startswith(
        "Insufficient privileges"
    )
    assert not app.actions


# ------------------------------------------------------------------------- managed devices


def test_devices_page_with_next_link_to_the_end(app: IntuneSimulator, graph: Graph) -> None:
    items, pages = graph.all_pages("deviceManagement/managedDevices", params={"$count": "true"})
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == len(app.ids("devices"))
    assert len(pages) == -(-len(ids) // DEVICE_PAGE)
    assert all(len(page["value"]) == DEVICE_PAGE for page in pages[:-1])
    assert pages[0]["@odata.count"] == len(ids)
    assert all("@odata.count" not in page for page in pages[1:])
    assert "$skiptoken=" in pages[0]["@odata.nextLink"]
    assert all(item["@odata.type"] == "#microsoft.graph.managedDevice" for item in items)
    platforms = {item["operatingSystem"] for item in items}
    assert {"Windows", "iOS", "Android", "macOS"} <= platforms


def test_device_next_link_keeps_the_query_and_top_is_capped(graph: Graph) -> None:
    body = graph.get(
        "deviceManagement/managedDevices", params={"$select": "id,serialNumber", "$top": "5000"}
    )
    assert len(body["value"]) == DEVICE_PAGE
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(body["@odata.nextLink"]).query)
    assert query["$select"] == ["id,serialNumber"] and "$skiptoken" in query
    assert set(body["value"][0]) == {"@odata.type", "id", "serialNumber"}
    assert body["@odata.context"].endswith("#deviceManagement/managedDevices(id,serialNumber)")


def test_device_filters(app: IntuneSimulator, graph: Graph) -> None:
    device = next(d for d in map(app.device, app.ids("devices")) if d and d["userId"])
    serial, user_id = device["serialNumber"], device["userId"]
    path = "deviceManagement/managedDevices"
    found = graph.get(path, params={"$filter": f"serialNumber eq '{serial.lower()}'"})["value"]
    assert [d["id"] for d in found] == [device["id"]]
    mine = graph.get(path, params={"$filter": f"userId eq '{user_id}'"})["value"]
    assert device["id"] in {d["id"] for d in mine} and all(d["userId"] == user_id for d in mine)
    both = graph.get(
        path, params={"$filter": f"serialNumber eq '{serial}' and userId eq '{user_id}'"}
    )
    assert [d["id"] for d in both["value"]] == [device["id"]]
    other = "00000000-0000-0000-0000-000000000001"
    assert (
        graph.get(path, params={"$filter": f"serialNumber eq '{serial}' and userId eq '{other}'"})[
            "value"
        ]
        == []
    )
    windows = graph.get(path, params={"$filter": "operatingSystem eq 'Windows'"})["value"]
    assert windows and all(d["operatingSystem"] == "Windows" for d in windows)
    assert "Could not find a property named 'colour'" in graph_error(
        graph.call("GET", path, params={"$filter": "colour eq 'red'"}), 400, "BadRequest"
    )
    assert graph_error(
        graph.call("GET", path, params={"$filter": "serialNumber eq"}), 400, "BadRequest"
    ).startswith("Invalid filter clause")


def test_user_managed_devices(app: IntuneSimulator, graph: Graph) -> None:
    device = next(d for d in map(app.device, app.ids("devices")) if d and d["userId"])
    listed = graph.get(f"users/{device['userId']}/managedDevices")["value"]
    assert device["id"] in {d["id"] for d in listed}
    assert all(d["userId"] == device["userId"] for d in listed)


def test_non_default_properties_only_on_a_selected_get(app: IntuneSimulator, graph: Graph) -> None:
    ios = next(
        d for d in map(app.device, app.ids("devices")) if d and d["operatingSystem"] == "iOS"
    )
    assert ios["udid"]
    listed = graph.get(
        "deviceManagement/managedDevices", params={"$filter": f"id eq '{ios['id']}'"}
    )["value"][0]
    assert listed["udid"] is None and listed["physicalMemoryInBytes"] == 0
    single = graph.get(f"deviceManagement/managedDevices/{ios['id']}")
    assert single["udid"] is None and single["@odata.context"].endswith("managedDevices/$entity")
    selected = graph.get(
        f"deviceManagement/managedDevices/{ios['id']}",
        params={"$select": "id,udid,physicalMemoryInBytes"},
    )
    assert selected["udid"] == ios["udid"] and selected["physicalMemoryInBytes"] > 0
    assert set(selected) == {"@odata.context", "@odata.type", "id", "udid", "physicalMemoryInBytes"}


def test_device_records_look_like_intune(app: IntuneSimulator, graph: Graph) -> None:
    windows = graph.get(
        "deviceManagement/managedDevices", params={"$filter": "operatingSystem eq 'Windows'"}
    )["value"][0]
    assert windows["imei"] == "" and windows["phoneNumber"] == ""  # Intune sends "" for absent text
    assert windows["easActivationDateTime"] == "0001-01-01T00:00:00Z"
    assert (
        windows["enrolledDateTime"].endswith("Z")
        and len(windows["enrolledDateTime"].split(".")[1]) == 8
    )
    owned = next(d for d in map(app.device, app.ids("devices")) if d and d["userId"])
    owner = app.user(owned["userId"])
    assert owner is not None
    assert owned["userPrincipalName"] == owner["userPrincipalName"]
    assert owned["emailAddress"] == owner["mail"]


def test_phones_and_tablets_share_serials_with_the_other_simulators(app: IntuneSimulator) -> None:
    generator = FleetGenerator(SEED)
    serials = {d["serialNumber"] for d in map(app.device, app.ids("devices")) if d}
    handsets = [i for i in range(DEVICES) if app.seeder.device_kind(i) == "handset"]
    assert len(handsets) > DEVICES // 2
    assert {generator.handset(i).serial_number for i in handsets} <= serials


def test_unknown_device_is_intunes_404(graph: Graph) -> None:
    missing = graph.call(
        "GET", "deviceManagement/managedDevices/00000000-0000-0000-0000-00000000abcd"
    )
    message = graph_error(missing, 404, "ResourceNotFound")
    inner = json.loads(message)
    assert inner["_version"] == 3 and "Operation ID (for customer support)" in inner["Message"]
    assert missing.headers["request-id"] in inner["Message"]
    graph_error(graph.call("GET", "deviceManagement/managedDevices/not-a-guid"), 400, "BadRequest")


def test_device_patch_merges_and_answers_200(app: IntuneSimulator, graph: Graph) -> None:
    device_id = app.ids("devices")[3]
    before = app.device(device_id)
    assert before is not None
    path = f"deviceManagement/managedDevices/{device_id}"
    response = graph.call(
        "PATCH", path, json={"managedDeviceOwnerType": "personal", "notes": "Åsas reserv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["managedDeviceOwnerType"] == "personal"
    after = app.device(device_id)
    assert after is not None
    assert after["notes"] == "Åsas reserv" and after["deviceName"] == before["deviceName"]
    assert graph.get(path, params={"$select": "notes"})["notes"] == "Åsas reserv"
    for body in ({"deviceName": "x"}, {"colour": "red"}, {"managedDeviceOwnerType": "borrowed"}):
        graph_error(graph.call("PATCH", path, json=body), 400, "BadRequest")
    assert app.device(device_id) == after  # refused PATCHes changed nothing
    app.device_patch_status = 204
    try:
        quiet = graph.call("PATCH", path, json={"managedDeviceName": "kassa-1"})
        assert quiet.status_code == 204 and quiet.content == b""
    finally:
        app.device_patch_status = 200


@pytest.mark.parametrize("action", ["remoteLock", "resetPasscode", "syncDevice", "retire", "wipe"])
def test_device_actions_answer_204(app: IntuneSimulator, graph: Graph, action: str) -> None:
    device_id = app.ids("devices")[5]
    response = graph.call("POST", f"deviceManagement/managedDevices/{device_id}/{action}")
    assert response.status_code == 204 and response.content == b""
    assert [(a.device_id, a.action) for a in app.actions] == [(device_id, action)]
    device = app.device(device_id)
    assert device is not None
    result = next(r for r in device["deviceActionResults"] if r["actionName"] == action)
    assert result["actionState"] == ("done" if action == "syncDevice" else "pending")


def test_wipe_parameters_and_bad_actions(app: IntuneSimulator, graph: Graph) -> None:
    device_id = app.ids("devices")[6]
    base = f"deviceManagement/managedDevices/{device_id}"
    ok = graph.call(
        "POST", f"{base}/wipe", json={"keepUserData": False, "persistEsimDataPlan": True}
    )
    assert ok.status_code == 204
    assert app.actions[-1].parameters == {"keepUserData": False, "persistEsimDataPlan": True}
    graph_error(graph.call("POST", f"{base}/wipe", json={"keepUserData": "yes"}), 400, "BadRequest")
    graph_error(
        graph.call("POST", f"{base}/remoteLock", json={"message": "Hej"}), 400, "BadRequest"
    )
    graph_error(
        graph.call("POST", f"{base}/sendCustomNotificationToCompanyPortal"), 400, "BadRequest"
    )
    assert graph.call("GET", f"{base}/remoteLock").status_code == 405
    assert len(app.actions) == 1


def test_sync_refreshes_last_sync(app: IntuneSimulator, graph: Graph) -> None:
    device_id = app.ids("devices")[7]
    before = graph.get(f"deviceManagement/managedDevices/{device_id}")["lastSyncDateTime"]
    assert (
        graph.call("POST", f"deviceManagement/managedDevices/{device_id}/syncDevice").status_code
        == 204
    )
    after = graph.get(f"deviceManagement/managedDevices/{device_id}")["lastSyncDateTime"]
    assert after != before  # the seeded fleet's clock is fixed; the sync is stamped "now"


def test_delete_device(app: IntuneSimulator, graph: Graph) -> None:
    device_id = app.ids("devices")[-1]
    path = f"deviceManagement/managedDevices/{device_id}"
    assert graph.call("DELETE", path).status_code == 204
    graph_error(graph.call("GET", path), 404, "ResourceNotFound")
    graph_error(graph.call("DELETE", path), 404, "ResourceNotFound")


# ------------------------------------------------------------------------- users


def test_users_default_properties_and_paging(app: IntuneSimulator, graph: Graph) -> None:
    items, pages = graph.all_pages("users")
    assert len(items) == len({u["id"] for u in items}) == len(app.ids("users"))
    assert all(set(u) == USER_DEFAULT for u in items)
    assert all(len(p["value"]) == DIRECTORY_PAGE for p in pages[:-1])
    assert all(u["userPrincipalName"].endswith("@contoso.onmicrosoft.com") for u in items)
    assert any(ch in u["displayName"] for u in items for ch in "åäöÅÄÖ")
    selected = graph.get("users", params={"$select": "id,department,companyName,accountEnabled"})[
        "value"
    ]
    assert set(selected[0]) == {"id", "department", "companyName", "accountEnabled"}


def test_user_filters(app: IntuneSimulator, graph: Graph) -> None:
    user = app.user(app.ids("users")[4])
    assert user is not None
    by_mail = graph.get("users", params={"$filter": f"mail eq '{user['mail'].upper()}'"})["value"]
    assert [u["id"] for u in by_mail] == [user["id"]]
    by_upn = graph.get(
        "users", params={"$filter": f"userPrincipalName eq '{user['userPrincipalName']}'"}
    )["value"]
    assert [u["id"] for u in by_upn] == [user["id"]]
    prefix = user["displayName"][:2]
    starting = graph.all_pages("users", params={"$filter": f"startswith(displayName,'{prefix}')"})[
        0
    ]
    assert user["id"] in {u["id"] for u in starting}
    assert all(u["displayName"].casefold().startswith(prefix.casefold()) for u in starting)
    either = graph.get(
        "users", params={"$filter": f"mail eq '{user['mail']}' or mail eq 'nobody@example.se'"}
    )
    assert len(either["value"]) == 1
    quoted = graph.get("users", params={"$filter": "displayName eq 'O''Brien'"})
    assert quoted["value"] == []


def test_advanced_queries_need_consistency_level_and_count(
    app: IntuneSimulator, graph: Graph
) -> None:
    user = app.user(app.ids("users")[2])
    assert user is not None
    phone = {"$filter": f"mobilePhone eq '{user['mobilePhone']}'"}
    graph_error(graph.call("GET", "users", params=phone), 400, "Request_UnsupportedQuery")
    graph_error(
        graph.call("GET", "users", params={**phone, "$count": "true"}),
        400,
        "Request_UnsupportedQuery",
    )
    advanced = graph.get(
        "users", params={**phone, "$count": "true"}, headers={"ConsistencyLevel": "eventual"}
    )
    assert [u["id"] for u in advanced["value"]] == [user["id"]] and advanced["@odata.count"] == 1
    ends = {"$filter": "endswith(mail,'@example.se')"}
    message = graph_error(graph.call("GET", "users", params=ends), 400, "Request_UnsupportedQuery")
    assert "ConsistencyLevel:eventual" in message
    negated = {"$filter": "not(department eq 'IT')", "$count": "true"}
    assert graph.call("GET", "users", params=negated).status_code == 400
    assert (
        graph.call(
            "GET", "users", params=negated, headers={"ConsistencyLevel": "eventual"}
        ).status_code
        == 200
    )


def test_count_option_and_count_segment(app: IntuneSimulator, graph: Graph) -> None:
    total = len(app.ids("users"))
    silent = graph.get("users", params={"$count": "true"})
    assert "@odata.count" not in silent  # "silently ignores the $count query parameter"
    counted = graph.get(
        "users", params={"$count": "true"}, headers={"ConsistencyLevel": "eventual"}
    )
    assert counted["@odata.count"] == total
    nextlink = counted["@odata.nextLink"]
    assert "@odata.count" not in graph.get(nextlink, headers={"ConsistencyLevel": "eventual"})
    message = graph_error(graph.call("GET", "users/$count"), 400, "Request_BadRequest")
    assert message == "$count is not currently supported."
    segment = graph.call("GET", "users/$count", headers={"ConsistencyLevel": "eventual"})
    assert segment.status_code == 200 and segment.headers["Content-Type"].startswith("text/plain")
    assert segment.text == str(total)


def test_directory_page_size_limits(graph: Graph) -> None:
    assert "Must be between 1 and 999" in graph_error(
        graph.call("GET", "users", params={"$top": "1000"}), 400, "Request_BadRequest"
    )
    assert len(graph.get("users", params={"$top": "999"})["value"]) > DIRECTORY_PAGE
    graph_error(graph.call("GET", "users", params={"$skip": "5"}), 400, "Request_BadRequest")
    graph_error(
        graph.call("GET", "users", params={"$select": "id,favouriteColour"}),
        400,
        "Request_BadRequest",
    )
    graph_error(
        graph.call("GET", "users", params={"$expand": "manager"}), 400, "Request_UnsupportedQuery"
    )


def test_get_user_by_id_or_upn(app: IntuneSimulator, graph: Graph) -> None:
    user = app.user(app.ids("users")[1])
    assert user is not None
    by_id = graph.get(f"users/{user['id'].upper()}")
    assert by_id["id"] == user["id"] and by_id["@odata.context"].endswith("#users/$entity")
    assert graph.get(f"users/{user['userPrincipalName']}")["id"] == user["id"]
    missing = graph.call("GET", "users/00000000-0000-0000-0000-000000000042")
    assert "does not exist" in graph_error(missing, 404, "Request_ResourceNotFound")


def test_create_user(app: IntuneSimulator, graph: Graph) -> None:
    response = graph.call(
        "POST", "users", json=new_user_body("ebba.ostlund", mail="ebba.ostlund@example.se")
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == USER_DEFAULT | {"@odata.context"}
    assert created["userPrincipalName"] == "ebba.ostlund@contoso.onmicrosoft.com"
    assert created["id"] in response.headers["Location"]
    assert app.password_matches(created["id"], STRONG_PASSWORD)
    fetched = graph.get(
        f"users/{created['id']}", params={"$select": "id,passwordProfile,accountEnabled"}
    )
    assert fetched["passwordProfile"] is None and STRONG_PASSWORD not in json.dumps(fetched)
    duplicate = graph.call("POST", "users", json=new_user_body("ebba.ostlund"))
    assert graph_error(duplicate, 400, "Request_BadRequest").startswith(
        "Another object with the same value"
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"displayName": None}, "'displayName'"),
        ({"mailNickname": None}, "'mailNickname'"),
        ({"passwordProfile": None}, "'passwordProfile'"),
        ({"userPrincipalName": "åsa.öberg@contoso.onmicrosoft.com"}, "'userPrincipalName'"),
        ({"userPrincipalName": "asa@fabrikam.com"}, "verified domain"),
        ({"passwordProfile": {"password": "kort"}}, "complexity"),
        ({"favouriteColour": "blå"}, "does not exist as a declared property"),
    ],
)
def test_create_user_refusals(graph: Graph, body: dict[str, Any], fragment: str) -> None:
    response = graph.call("POST", "users", json={**new_user_body("refused.user"), **body})
    assert fragment in graph_error(response, 400, "Request_BadRequest")


def test_patch_user_merges_only_what_is_sent(app: IntuneSimulator, graph: Graph) -> None:
    created = create_user(graph, "mans.hagglund", jobTitle="Säljare", department="Försäljning")
    path = f"users/{created['id']}"
    response = graph.call("PATCH", path, json={"jobTitle": "Chef", "officeLocation": "Umeå"})
    assert response.status_code == 204 and response.content == b""
    after = app.user(created["id"])
    assert after is not None
    assert (after["jobTitle"], after["officeLocation"], after["department"]) == (
        "Chef",
        "Umeå",
        "Försäljning",
    )
    assert graph.call("PATCH", path, json={"jobTitle": None}).status_code == 204
    assert graph.get(path)["jobTitle"] is None
    snapshot = app.user(created["id"])
    graph_error(graph.call("PATCH", path, json={"displayName": None}), 400, "Request_BadRequest")
    graph_error(graph.call("PATCH", path, json={"id": "x"}), 400, "Request_BadRequest")
    graph_error(
        graph.call("PATCH", path, json={"jobTitle": "X", "shoeSize": 44}), 400, "Request_BadRequest"
    )
    bad_json = graph.call(
        "PATCH", path, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert "Unable to read JSON" in graph_error(bad_json, 400, "Request_BadRequest")
    assert app.user(created["id"]) == snapshot
    renamed = "mans.hagglund2@example.se"
    assert graph.call("PATCH", path, json={"userPrincipalName": renamed}).status_code == 204
    assert graph.get(f"users/{renamed}")["id"] == created["id"]


def test_delete_user_drops_memberships(app: IntuneSimulator, graph: Graph) -> None:
    created = create_user(graph, "tove.nordin")
    group = create_group(graph, "Tillfälliga", "tillfalliga")
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{created['id']}"}
    assert graph.call("POST", f"groups/{group['id']}/members/$ref", json=ref).status_code == 204
    assert graph.call("DELETE", f"users/{created['id']}").status_code == 204
    graph_error(graph.call("GET", f"users/{created['id']}"), 404, "Request_ResourceNotFound")
    assert app.member_ids(group["id"]) == []


# ------------------------------------------------------------------------- groups


def test_groups_list_and_filters(app: IntuneSimulator, graph: Graph) -> None:
    items, _ = graph.all_pages("groups")
    assert len(items) == len(app.ids("groups"))
    seeded = [g for g in items if g["displayName"].startswith("Göteborg")]
    assert seeded and all(g["securityEnabled"] and not g["mailEnabled"] for g in seeded)
    gbg = group_named(graph, "Göteborg")
    assert gbg["mailNickname"] == "goteborg"
    starting = graph.get("groups", params={"$filter": "startswith(displayName,'Göteborg /')"})[
        "value"
    ]
    assert starting and all(g["displayName"].startswith("Göteborg / ") for g in starting)
    assert graph.get(f"groups/{gbg['id']}", params={"$select": "displayName"}) == {
        "@odata.context": f"{graph.sim.base_url}/v1.0/$metadata#groups(displayName)/$entity",
        "displayName": "Göteborg",
    }
    graph_error(graph.call("GET", "groups/not-a-guid"), 400, "Request_BadRequest")


def test_create_update_delete_security_group(app: IntuneSimulator, graph: Graph) -> None:
    group = create_group(graph, "Malmö / Kassa & Butik", "malmo-kassa-butik")
    assert (
        group["securityEnabled"] is True
        and group["mailEnabled"] is False
        and group["groupTypes"] == []
    )
    assert group["mail"] is None and group["@odata.context"].endswith("#groups/$entity")
    path = f"groups/{group['id']}"
    assert graph.call("PATCH", path, json={"description": "Butikerna i Malmö"}).status_code == 204
    after = graph.get(path)
    assert (
        after["description"] == "Butikerna i Malmö"
        and after["displayName"] == "Malmö / Kassa & Butik"
    )
    assert graph.call("DELETE", path).status_code == 204
    graph_error(graph.call("GET", path), 404, "Request_ResourceNotFound")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"mailNickname": None}, "'mailNickname'"),
        ({"mailNickname": "har mellanslag"}, "'mailNickname'"),
        ({"securityEnabled": None}, "'securityEnabled'"),
        ({"mailEnabled": True}, "mail-enabled groups"),
        ({"owner": "me"}, "does not exist as a declared property"),
    ],
)
def test_create_group_refusals(graph: Graph, body: dict[str, Any], fragment: str) -> None:
    base = {
        "displayName": "Refused",
        "mailEnabled": False,
        "mailNickname": "refused",
        "securityEnabled": True,
    }
    response = graph.call("POST", "groups", json={**base, **body})
    assert fragment in graph_error(response, 400, "Request_BadRequest")


# ------------------------------------------------------------------------- membership


def test_members_paged_with_types_and_count(app: IntuneSimulator, graph: Graph) -> None:
    everyone = group_named(graph, "Alla medarbetare")
    items, pages = graph.all_pages(f"groups/{everyone['id']}/members")
    assert len(pages) > 1
    ids = [m["id"] for m in items]
    assert len(ids) == len(set(ids)) == len(app.member_ids(everyone["id"]))
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in items)
    assert pages[0]["@odata.context"].endswith("#directoryObjects")
    counted = graph.get(
        f"groups/{everyone['id']}/members",
        params={"$count": "true"},
        headers={"ConsistencyLevel": "eventual"},
    )
    assert counted["@odata.count"] == len(ids)
    segment = graph.call(
        "GET", f"groups/{everyone['id']}/members/$count", headers={"ConsistencyLevel": "eventual"}
    )
    assert segment.text == str(len(ids))
    # one user, many groups: the premise of "group_id is None on read"
    assert any(len(app.group_ids_of(user_id)) >= 3 for user_id in ids)


def test_add_and_remove_members(app: IntuneSimulator, graph: Graph) -> None:
    group = create_group(graph, "Umeå / Fält", "umea-falt")
    inner = create_group(graph, "Umeå / Fält / Natt", "umea-falt-natt")
    user_id = app.ids("users")[10]
    members = f"groups/{group['id']}/members"
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user_id}"}
    added = graph.call("POST", f"{members}/$ref", json=ref)
    assert added.status_code == 204 and added.content == b""
    again = graph.call("POST", f"{members}/$ref", json=ref)
    assert "already exist" in graph_error(again, 400, "Request_BadRequest")
    nested = {"@odata.id": f"{graph.sim.base_url}/v1.0/groups/{inner['id']}"}
    assert graph.call("POST", f"{members}/$ref", json=nested).status_code == 204
    listed = {m["id"]: m["@odata.type"] for m in graph.get(members)["value"]}
    assert listed == {user_id: "#microsoft.graph.user", inner["id"]: "#microsoft.graph.group"}
    users_only = graph.get(f"{members}/microsoft.graph.user")["value"]
    assert [m["id"] for m in users_only] == [user_id]
    ghost = {
        "@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-0000000000ee"
    }
    graph_error(graph.call("POST", f"{members}/$ref", json=ghost), 404, "Request_ResourceNotFound")
    graph_error(
        graph.call("POST", f"{members}/$ref", json={"@odata.id": "nonsense"}),
        400,
        "Request_BadRequest",
    )
    assert graph.call("DELETE", f"{members}/{user_id}/$ref").status_code == 204
    graph_error(graph.call("DELETE", f"{members}/{user_id}/$ref"), 404, "Request_ResourceNotFound")
    assert app.member_ids(group["id"]) == [inner["id"]]


# ------------------------------------------------------------------------- apps


def test_mobile_apps(graph: Graph) -> None:
    body = graph.get("deviceAppManagement/mobileApps")
    apps = body["value"]
    types = {a["@odata.type"] for a in apps}
    assert {
        "#microsoft.graph.iosStoreApp",
        "#microsoft.graph.androidStoreApp",
        "#microsoft.graph.webApp",
    } <= types
    assert body["@odata.context"].endswith("#deviceAppManagement/mobileApps")
    kassa = next(a for a in apps if a["displayName"] == "Kassa")
    assert kassa["bundleId"] == "se.angstrom.kassa" and kassa["publisher"] == "Ångström AB"
    one = graph.get(f"deviceAppManagement/mobileApps/{kassa['id']}")
    assert one["id"] == kassa["id"] and one["@odata.context"].endswith("mobileApps/$entity")
    graph_error(
        graph.call("GET", "deviceAppManagement/mobileApps/00000000-0000-0000-0000-000000000000"),
        404,
        "ResourceNotFound",
    )
    assert (
        graph.call("POST", "deviceAppManagement/mobileApps", json={"displayName": "x"}).status_code
        == 405
    )


# ------------------------------------------------------------------------- paging integrity


def test_skiptoken_is_opaque_and_bound_to_its_query(graph: Graph) -> None:
    first = graph.get("users", params={"$select": "id"})
    link = first["@odata.nextLink"]
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["$skiptoken"][0]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    graph_error(
        graph.call("GET", "users", params={"$select": "id", "$skiptoken": tampered}),
        400,
        "Request_BadRequest",
    )
    graph_error(
        graph.call("GET", "users", params={"$select": "id,mail", "$skiptoken": token}),
        400,
        "Request_BadRequest",
    )
    graph_error(
        graph.call("GET", "groups", params={"$select": "id", "$skiptoken": token}),
        400,
        "Request_BadRequest",
    )


def test_listing_survives_deletes_and_inserts(app: IntuneSimulator, graph: Graph) -> None:
    first = graph.get("users", params={"$select": "id"})
    served = [u["id"] for u in first["value"]]
    order = app.ids("users")
    doomed = order[len(served) + 2]  # on the next page
    assert graph.call("DELETE", f"users/{doomed}").status_code == 204
    late = create_user(graph, "sent.anstalld")
    rest, _ = graph.all_pages(first["@odata.nextLink"])
    served += [u["id"] for u in rest]
    assert len(served) == len(set(served))
    assert doomed not in served and served[-1] == late["id"]
    assert set(served) == set(app.ids("users"))


def test_empty_pages_and_duplicates_are_survivable(
    sim: SimServer, app: IntuneSimulator, graph: Graph
) -> None:
    app.serve_empty_pages(1)
    first = graph.get("deviceManagement/managedDevices")
    assert first["value"] == [] and "@odata.nextLink" in first
    items, _ = graph.all_pages(first["@odata.nextLink"])
    assert len({d["id"] for d in items}) == len(items) == len(app.ids("devices"))
    sim.faults.add("duplicate", times=1)
    page = graph.get("users")["value"]
    assert page[-1] == page[0]


def test_next_link_does_not_carry_consistency_level(app: IntuneSimulator, graph: Graph) -> None:
    """Graph: request headers "are not included by default in subsequent page requests"."""
    query = {"$filter": "startswith(mobilePhone,'+4670')", "$count": "true", "$top": "2"}
    first = graph.get("users", params=query, headers={"ConsistencyLevel": "eventual"})
    link = first["@odata.nextLink"]
    graph_error(graph.call("GET", link), 400, "Request_UnsupportedQuery")
    assert graph.get(link, headers={"ConsistencyLevel": "eventual"})["value"]


def test_orderby(graph: Graph) -> None:
    items, pages = graph.all_pages(
        "users", params={"$orderby": "displayName", "$select": "id,displayName"}
    )
    names = [u["displayName"].casefold() for u in items]
    assert names == sorted(names) and len(pages) > 1
    with_filter = {"$orderby": "displayName", "$filter": "startswith(displayName,'A')"}
    graph_error(graph.call("GET", "users", params=with_filter), 400, "Request_UnsupportedQuery")


# ------------------------------------------------------------------------- the command line


def test_main_refuses_a_bad_fault_spec(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--fault", "nonsense:1"])
    assert raised.value.code == 2
    assert "--fault" in capsys.readouterr().err


def test_large_fleet_seeds_lazily() -> None:
    started = time.perf_counter()
    big = IntuneSimulator(devices=20_000, device_page_size=1000)
    assert time.perf_counter() - started < 5
    assert len(big.ids("devices")) == 20_000 and len(big.ids("users")) == 16_000
