"""The Intune adapter (Microsoft Graph v1.0) through the public API, over real HTTP to the
Intune simulator on loopback: tokens and their renewal, AADSTS refusals, Graph's errors and
request ids, paging with ``@odata.nextLink`` and ``@odata.count``, filters, PATCH bodies,
commands, local refusals, throttling, next links to other origins, and the CLI on an
Intune tenant. Every check of what was sent is read at the simulator, never through the
library under test. ``test_zz_*`` runs last and checks no secret reached a log line or an
error text of the whole module."""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mdmbridge_intune import mapping as m
from mdmbridge_intune import wire
from mdmbridge_intune.simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_DOMAIN,
    DEFAULT_TENANT_ID,
    IntuneSimulator,
    start_simulator,
)

import mdmbridge
from mdmbridge.cli import main
from mdmbridge.config import CONFIG_ENV
from mdmbridge.entities import writable_entities
from mdmbridge.errors import (
    AuthError,
    ConfigError,
    Conflict,
    DryRunViolation,
    IncompleteListing,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
    UnsupportedOperation,
    ValidationError,
)
from mdmbridge.models import AppStore, Platform
from mdmbridge.simulation import SimServer
from mdmbridge.testing import ConformanceSuite
from tests.support import INTUNE_SECRET, LEAKS, raises

FAST = {"retries": 3, "connect_timeout_s": 2.0, "read_timeout_s": 5.0}
MISSING = "0b8e3c8e-9d1e-4a50-bb6c-2f1b8a1c5e77"
ISSUED: list[str] = []  # every token the module's simulators handed out, for test_zz
WRITABLE = tuple(e.name for e in writable_entities())

Factory = Callable[..., SimServer]


@pytest.fixture
def intune_sim() -> Iterator[Factory]:
    """Factory: ``intune_sim(devices=50)`` starts an Intune simulator, stopped after the test."""
    started: list[SimServer] = []

    def start(**kwargs: Any) -> SimServer:
        kwargs.setdefault("client_secret", INTUNE_SECRET)
        server = start_simulator(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        ISSUED.extend(app(server).tokens.issued_tokens())
        server.stop()


def app(server: SimServer) -> IntuneSimulator:
    assert isinstance(server.app, IntuneSimulator)
    return server.app


def intune_settings(server: SimServer, **overrides: Any) -> dict[str, Any]:
    settings = {
        "authority_url": server.base_url,
        "graph_url": f"{server.base_url}/v1.0",
        "tenant_id": DEFAULT_TENANT_ID,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": INTUNE_SECRET,
        "user_domain": DEFAULT_DOMAIN,
        **FAST,
    }
    settings.update(overrides)
    return settings


def connect_intune(server: SimServer, **overrides: Any) -> mdmbridge.Client:
    settings = intune_settings(server, **overrides)
    tenant = settings.pop("tenant", "intune-test")
    return mdmbridge.connect("intune", tenant=tenant, **settings)


def graph_gets(server: SimServer, fragment: str) -> list[int | None]:
    """Statuses of the GETs whose path holds ``fragment``, in order."""
    return [r.status for r in server.log if r.method == "GET" and fragment in r.path]


@pytest.fixture
def sim(intune_sim: Factory) -> SimServer:
    return intune_sim(devices=150, seed=7, device_page_size=40)


@pytest.fixture
def mdm(sim: SimServer) -> Iterator[mdmbridge.Client]:
    client = connect_intune(sim)
    yield client
    client.close()


# ---------------------------------------------------------------------------- settings


def test_settings_defaults_and_derived_urls() -> None:
    client = mdmbridge.connect(
        "intune",
        tenant="acme",
        tenant_id="5B1F4B0E-7C3D-4A8E-9F21-6D2C8A4E1B37",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=INTUNE_SECRET,
    )  # offline: no token is fetched before the first call
    settings = client.adapter.settings
    assert isinstance(settings, wire.IntuneSettings)
    assert settings.tenant_id == DEFAULT_TENANT_ID  # canonical lowercase
    assert settings.token_url == (
        f"https://login.microsoftonline.com/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"
    )
    assert settings.graph_url == "https://graph.microsoft.com/v1.0"
    assert settings.scope == "https://graph.microsoft.com/.default"
    assert settings.max_concurrency == 4
    national = wire.IntuneSettings(
        tenant_id="contoso.onmicrosoft.us",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=INTUNE_SECRET,  # type: ignore[arg-type]
        authority_url="https://login.microsoftonline.us/",
        graph_url="https://graph.microsoft.us/v1.0/",
    )
    assert (
        national.token_url
        == "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token"
    )
    assert national.scope == "https://graph.microsoft.us/.default"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tenant_id", "common"),
        ("tenant_id", "organizations"),
        ("tenant_id", "not a tenant"),
        ("client_id", "my-app"),
        ("graph_url", "https://graph.microsoft.com/beta"),
        ("graph_url", "graph.microsoft.com/v1.0"),
        ("authority_url", "ftp://login.example"),
        ("user_domain", "no domain"),
        ("client_secret", " padded "),
        ("tenantid", DEFAULT_TENANT_ID),  # a typo: unknown keys are refused
    ],
)
def test_bad_settings_are_refused_naming_the_key(key: str, value: str) -> None:
    settings: dict[str, Any] = {
        "tenant_id": DEFAULT_TENANT_ID,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": INTUNE_SECRET,
        key: value,
    }
    with raises(ConfigError) as info:
        mdmbridge.connect("intune", tenant="t", **settings)
    assert key in str(info.value)
    assert INTUNE_SECRET not in str(info.value) and INTUNE_SECRET not in repr(info.value)


# ---------------------------------------------------------------------------- tokens


def test_one_token_serves_many_calls(sim: SimServer, mdm: mdmbridge.Client) -> None:
    assert app(sim).tokens.issued == 0  # connect() is offline
    list(mdm.groups.list())
    list(mdm.users.list())
    mdm.devices.get(next(iter(mdm.devices.list())).id)
    assert app(sim).tokens.issued == 1
    token_posts = [r for r in sim.log if r.method == "POST" and r.path.endswith("/token")]
    assert (
        len(token_posts) == 1 and token_posts[0].path == f"/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"
    )


@pytest.mark.parametrize("hook", ["expire_all", "revoke_all"])
def test_a_401_renews_the_token_once_and_repeats(
    sim: SimServer, mdm: mdmbridge.Client, hook: str
) -> None:
    first = list(mdm.groups.list())
    getattr(app(sim).tokens, hook)()
    sim.reset_counts()
    assert list(mdm.groups.list()) == first
    assert app(sim).tokens.issued == 2
    assert graph_gets(sim, "/v1.0/groups") == [401, 200]


def test_a_short_lived_token_is_renewed_before_it_expires(intune_sim: Factory) -> None:
    server = intune_sim(devices=3, token_lifetime_s=1.2)
    with connect_intune(server) as mdm:
        list(mdm.groups.list())
        time.sleep(0.8)  # past half the lifetime: renewed before use, without a 401
        list(mdm.groups.list())
    assert app(server).tokens.issued == 2
    assert 401 not in graph_gets(server, "/v1.0/groups")


def test_a_second_401_is_an_auth_error(sim: SimServer, mdm: mdmbridge.Client) -> None:
    sim.faults.add("status", status=401, path=r"^/v1\.0/groups", times=2)
    with raises(AuthError) as info:
        list(mdm.groups.list())
    assert "InvalidAuthenticationToken" in str(info.value)
    assert graph_gets(sim, "/v1.0/groups") == [401, 401]
    assert app(sim).tokens.issued == 2  # renewed once, not twice


@pytest.mark.parametrize(
    ("overrides", "code", "status"),
    [
        ({"client_secret": "Wrong~Secret.Value-123"}, "AADSTS7000215", 401),
        ({"tenant_id": MISSING}, "AADSTS90002", 400),
        ({"client_id": MISSING}, "AADSTS700016", 400),
    ],
    ids=["wrong-secret", "wrong-tenant", "wrong-client"],
)
def test_token_refusals_are_auth_errors_with_the_aadsts_code(
    sim: SimServer, overrides: dict[str, str], code: str, status: int
) -> None:
    with connect_intune(sim, **overrides) as mdm, raises(AuthError) as info:
        list(mdm.devices.list())
    text = str(info.value)
    assert text.startswith("[intune:intune-test] token request refused: ")
    assert code in text and f"(HTTP {status})" in text
    assert "Trace ID" not in text and len(text) < 320  # the first line only
    for secret in (INTUNE_SECRET, overrides.get("client_secret", INTUNE_SECRET)):
        assert secret not in text and secret not in repr(info.value)
    assert sim.count("GET") == 0  # nothing reached Graph


# ---------------------------------------------------------------------------- reading


def test_devices_page_by_next_link_and_add_up_to_the_count(
    sim: SimServer, mdm: mdmbridge.Client
) -> None:
    devices = list(mdm.devices.list())
    assert len(devices) == 150 == len(app(sim).ids("devices"))
    assert [d.id for d in devices] == app(sim).ids("devices")
    assert graph_gets(sim, "managedDevices") == [200] * 4  # 40 + 40 + 40 + 30
    first = devices[0]
    assert set(first.raw) == {"@odata.type", *m.DEVICE_SELECT}  # $select was sent
    assert first.udid is None  # null in lists, as Graph serves it
    assert all(len(d.id) == 36 and d.serial_number for d in devices)
    platforms = {d.platform for d in devices}
    assert {Platform.WINDOWS, Platform.MACOS, Platform.IOS, Platform.ANDROID} <= platforms
    without_user = [d for d in devices if d.user_id is None]
    assert 0 < len(without_user) < 30  # "" from Graph reads as no user
    assert all(d.imei is None for d in devices if d.platform is Platform.WINDOWS)  # "" is None
    assert all(d.last_seen is not None and d.last_seen.tzinfo for d in devices)


def test_a_device_deleted_mid_listing_breaks_the_count(
    sim: SimServer, mdm: mdmbridge.Client
) -> None:
    listing = mdm.devices.list()
    head = [next(listing) for _ in range(40)]
    last = app(sim).ids("devices")[-1]
    with app(sim).lock:
        app(sim).devices.delete(last)
    with raises(IncompleteListing) as info:
        head += list(listing)
    assert "counted 150" in str(info.value) and "listed 149" in str(info.value)


def test_get_device_fills_the_udid(sim: SimServer, mdm: mdmbridge.Client) -> None:
    listed = next(d for d in mdm.devices.list() if d.platform is Platform.IOS)
    got = mdm.devices.get(listed.id)
    record = app(sim).device(listed.id)
    assert record is not None
    assert listed.udid is None and got.udid == record["udid"] and got.udid
    assert got.model_copy(update={"udid": None, "raw": {}}) == listed.model_copy(update={"raw": {}})


def test_users_page_with_top_999(intune_sim: Factory) -> None:
    server = intune_sim(devices=1300, seed=2)  # 1040 users: two pages of at most 999
    with connect_intune(server) as mdm:
        users = list(mdm.users.list())
    assert [u.id for u in users] == app(server).ids("users")
    assert graph_gets(server, "/v1.0/users") == [200, 200]
    assert all(u.group_id is None for u in users)  # one of many groups is never picked
    first = users[0]
    assert set(first.raw) == set(m.USER_SELECT)
    record = app(server).user(first.id)
    assert record is not None
    assert (first.name, first.email, first.account, first.office) == (
        record["displayName"],
        record["mail"],
        record["userPrincipalName"],
        record["officeLocation"],
    )


def test_empty_pages_with_a_next_link_are_followed(sim: SimServer, mdm: mdmbridge.Client) -> None:
    app(sim).serve_empty_pages(1)  # the first page: no records, a link to the same place
    assert len(list(mdm.devices.list())) == 150
    assert graph_gets(sim, "managedDevices") == [200] * 5
    app(sim).serve_empty_pages(2)  # twice the same link: a server going round in circles
    with raises(IncompleteListing) as info:
        list(mdm.devices.list())
    assert "already read" in str(info.value)


def test_a_repeated_record_is_an_incomplete_listing(sim: SimServer, mdm: mdmbridge.Client) -> None:
    sim.faults.add("duplicate", path="managedDevices", times=2)
    with raises(IncompleteListing):
        list(mdm.devices.list())


def test_a_page_without_value_is_malformed(sim: SimServer, mdm: mdmbridge.Client) -> None:
    sim.faults.add("body", text='{"@odata.context": "x"}', path="managedDevices")
    with raises(MalformedResponse) as info:
        list(mdm.devices.list())
    assert "without a value list" in str(info.value)


@pytest.mark.parametrize(
    "link",
    [
        "http://evil.example/v1.0/deviceManagement/managedDevices?$skiptoken=x",
        "https://{host}/v1.0/x",
    ],
    ids=["other-host", "other-scheme"],
)
def test_a_next_link_to_another_origin_is_refused(
    sim: SimServer, mdm: mdmbridge.Client, link: str
) -> None:
    link = link.format(host=f"{sim.host}:{sim.port}")
    page = {"value": [], "@odata.nextLink": link}
    sim.faults.add("body", text=json.dumps(page), path="managedDevices")
    with raises(MalformedResponse) as info:
        list(mdm.devices.list())
    assert "another origin" in str(info.value) and "not followed" in str(info.value)
    assert graph_gets(sim, "managedDevices") == [200]  # nothing followed it


def test_apps_by_their_derived_type(mdm: mdmbridge.Client, sim: SimServer) -> None:
    apps = list(mdm.apps.list())
    assert len(apps) == 6
    seen = {(a.name, a.platform, a.store, a.package_id, a.version_text) for a in apps}
    assert (
        "Microsoft Outlook",
        Platform.IOS,
        AppStore.APP_STORE,
        "com.microsoft.Office.Outlook",
        None,
    ) in seen
    assert (
        "Microsoft Outlook",
        Platform.ANDROID,
        AppStore.PLAY,
        "com.microsoft.office.outlook",
        None,
    ) in seen
    assert ("Kassa", Platform.IOS, AppStore.IN_HOUSE, "se.angstrom.kassa", "2.4.1") in seen
    web = next(a for a in apps if a.raw["@odata.type"].endswith("webApp"))
    assert (web.package_id, web.platform, web.store) == (
        "https://intra.example.se/",
        Platform.UNKNOWN,
        AppStore.UNKNOWN,
    )
    win32 = next(a for a in apps if a.name == "Lagerterminal")
    assert (win32.platform, win32.store, win32.package_id) == (
        Platform.WINDOWS,
        AppStore.IN_HOUSE,
        win32.id,
    )
    assert all(a.company and not a.has_image_data for a in apps)
    assert mdm.apps.get(web.id).model_copy(update={"raw": {}}) == web.model_copy(update={"raw": {}})
    assert mdm.apps.get(web.id).raw == app(sim).app(web.id)  # the derived type's fields too
    with raises(UnsupportedOperation):
        mdm.apps.upsert(
            name="x", company="y", package_id="z", version_text="1", platform="ios",
            size=1, store="app_store", store_id="1",
        )  # fmt: skip


def test_groups_are_flat_with_their_name_as_path(mdm: mdmbridge.Client) -> None:
    groups = list(mdm.groups.list())
    assert len(groups) == 41  # the 40-group tree as flat names, and all staff
    assert all(g.parent_id is None and g.path == g.name for g in groups)
    team = next(g for g in groups if g.name.count(" / ") == 2)
    assert [g.id for g in mdm.groups.list(path=team.name)] == [team.id]
    # A path is names split on "/" (or "\\"), as for every flat vendor: applied by the client.
    slashed = team.name.replace(" / ", "\\").upper()
    assert [g.id for g in mdm.groups.list(path=slashed)] == [team.id]
    assert list(mdm.groups.list(path="Ingen / Sådan")) == []
    assert list(mdm.groups.list(number="4711")) == []  # Intune groups have no number
    assert mdm.groups.get(team.id) == team
    assert "Regionkontor" in (next(g for g in groups if " / " not in g.name).notes or "")


# ---------------------------------------------------------------------------- filters


def test_device_filters_are_server_side(sim: SimServer, mdm: mdmbridge.Client) -> None:
    devices = list(mdm.devices.list())
    target = next(
        d for d in devices if d.user_id and sum(x.user_id == d.user_id for x in devices) > 1
    )
    sim.reset_counts()
    before = app(sim).list_requests
    by_serial = list(mdm.devices.list(serial_number=target.serial_number.lower()))  # type: ignore[union-attr]
    assert [d.id for d in by_serial] == [target.id]  # eq is case-insensitive
    owned = list(mdm.devices.list(user_id=target.user_id.upper()))  # type: ignore[union-attr]
    assert [d.id for d in owned] == [d.id for d in devices if d.user_id == target.user_id]
    both = list(mdm.devices.list(serial_number=target.serial_number, user_id=target.user_id))
    assert [d.id for d in both] == [target.id]
    assert app(sim).list_requests - before == 3  # one filtered page each
    with raises(ValidationError):
        list(mdm.devices.list(user_id="x' or 1 eq 1"))  # GUIDs only: refused locally
    assert sim.count("GET") == 3
    # Applied by the client: a device's group is its primary user's membership.
    team = next(
        g for g in mdm.groups.list() if g.name.count(" / ") == 2 and app(sim).member_ids(g.id)
    )
    members = set(app(sim).member_ids(team.id))
    in_team = list(mdm.devices.list(group_id=team.id))
    assert in_team and [d.id for d in in_team] == [d.id for d in devices if d.user_id in members]
    owner = next(u for u in mdm.users.list() if u.id == target.user_id)
    by_account = list(mdm.devices.list(account=owner.account))
    assert [d.id for d in by_account] == [d.id for d in devices if d.user_id == owner.id]
    assert list(mdm.devices.list(tag_id="1")) == []  # no tags in Intune


def test_user_filters(sim: SimServer, mdm: mdmbridge.Client) -> None:
    users = list(mdm.users.list())
    one = users[3]
    assert [u.id for u in mdm.users.list(email=one.email.upper())] == [one.id]  # type: ignore[union-attr]
    assert [u.id for u in mdm.users.list(account=one.account)] == [one.id]
    assert [u.id for u in mdm.users.list(phone=one.phone)] == [one.id]  # advanced query
    assert list(mdm.users.list(email="nobody@example.se")) == []
    assert [u.id for u in mdm.users.list(email=f"  {one.email}  ")] == [one.id]
    assert list(mdm.users.list(tag_id="1")) == []  # no tags in Intune
    assert graph_gets(sim, "/v1.0/users")[-1] == 200


def test_a_filter_value_survives_quotes_and_url_characters(mdm: mdmbridge.Client) -> None:
    tricky = "o'brien+hej&x=1#a@example.se"
    user = mdm.users.create(
        name="Åsa O'Brien", email=tricky, account="o'brien@contoso.onmicrosoft.com"
    )
    assert [u.id for u in mdm.users.list(email=tricky)] == [user.id]
    assert [u.id for u in mdm.users.list(account="O'Brien@contoso.onmicrosoft.com")] == [user.id]
    assert list(mdm.users.list(email="o'brien hej&x=1#a@example.se")) == []  # + is not a space
    assert wire.literal("O'Brien") == "'O''Brien'"
    assert wire.query({"$filter": "mail eq 'a+b&c'"}) == "?$filter=mail%20eq%20'a%2Bb%26c'"


def test_users_of_a_group_through_its_members(sim: SimServer, mdm: mdmbridge.Client) -> None:
    groups = {g.name: g for g in mdm.groups.list()}
    staff = groups["Alla medarbetare"]
    members = list(mdm.users.list(group_id=staff.id))
    assert [u.id for u in members] == [
        uid for uid in app(sim).member_ids(staff.id) if app(sim).user(uid) is not None
    ]
    assert len(members) == 120 and all(u.group_id == staff.id for u in members)
    one = members[5]
    combined = list(mdm.users.list(group_id=staff.id, email=one.email))
    assert [(u.id, u.group_id) for u in combined] == [(one.id, staff.id)]
    team = next(
        g for g in groups.values() if g.name.count(" / ") == 2 and app(sim).member_ids(g.id)
    )
    assert {u.id for u in mdm.users.list(group_id=team.id)} == set(app(sim).member_ids(team.id))
    with raises(NotFound):
        list(mdm.users.list(group_id=MISSING))


# ---------------------------------------------------------------------------- writes


def last_write(sim: SimServer, method: str) -> Any:
    found = [w for w in app(sim).writes if w.method == method]
    assert found, f"no {method} reached the simulator"
    return found[-1]


def test_group_lifecycle_as_security_groups(sim: SimServer, mdm: mdmbridge.Client) -> None:
    group = mdm.groups.create(name="Göteborg / Lager & Logistik (Hamnen)", notes="Skift: natt")
    sent = last_write(sim, "POST")
    assert sent.path == "/v1.0/groups"
    assert sent.body == {
        "displayName": "Göteborg / Lager & Logistik (Hamnen)",
        "description": "Skift: natt",
        "mailEnabled": False,
        "securityEnabled": True,
        "mailNickname": "Goteborg-/-Lager-&-Logistik-Hamnen",
        "groupTypes": [],
    }
    assert (group.name, group.notes, group.path, group.parent_id) == (
        "Göteborg / Lager & Logistik (Hamnen)", "Skift: natt", group.name, None,
    )  # fmt: skip
    renamed = mdm.groups.update(group.id, notes=None)
    assert last_write(sim, "PATCH").body == {"description": None}  # only what changed
    assert renamed.notes is None and renamed.name == group.name
    mdm.groups.update(group.id, name="Lager")
    assert last_write(sim, "PATCH").body == {"displayName": "Lager"}
    mdm.groups.delete(group.id)
    with raises(NotFound):
        mdm.groups.get(group.id)
    with raises(UnsupportedOperation):
        mdm.groups.create(name="x", parent_id=group.id)  # no nesting
    with raises(ValidationError):
        mdm.groups.create(name="x", number="4711")  # Intune groups cannot hold a number


def test_user_create_is_disabled_with_a_password_nobody_sees(
    sim: SimServer, mdm: mdmbridge.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "Tmp#Canary-Pass-2026x"
    monkeypatch.setattr(wire, "temporary_password", lambda: canary)
    team = next(g for g in mdm.groups.list() if g.name.count(" / ") == 2)
    user = mdm.users.create(
        name="Åsa Öberg", email="asa.oberg@example.se", group_id=team.id,
        department="Lager", position="Truckförare",
    )  # fmt: skip
    post = next(w for w in app(sim).writes if w.method == "POST" and w.path == "/v1.0/users")
    assert post.body == {
        "displayName": "Åsa Öberg",
        "mail": "asa.oberg@example.se",
        "department": "Lager",
        "jobTitle": "Truckförare",
        "userPrincipalName": f"asa.oberg@{DEFAULT_DOMAIN}",  # derived under user_domain
        "mailNickname": "asa.oberg",
        "accountEnabled": False,
        "passwordProfile": {"password": "***", "forceChangePasswordNextSignIn": True},
    }
    assert app(sim).password_matches(user.id, canary)
    record = app(sim).user(user.id)
    assert record is not None and record["accountEnabled"] is False
    assert (user.account, user.group_id) == (f"asa.oberg@{DEFAULT_DOMAIN}", team.id)
    assert app(sim).group_ids_of(user.id) == [team.id]
    member = last_write(sim, "POST")
    assert member.path == f"/v1.0/groups/{team.id}/members/$ref"
    assert member.body == {"@odata.id": f"{sim.base_url}/v1.0/directoryObjects/{user.id}"}
    with raises(Conflict) as info:  # the same sign-in name again
        mdm.users.create(name="Åsa Två", account=f"ASA.OBERG@{DEFAULT_DOMAIN}")
    assert "Request_BadRequest: Another object with the same value" in str(info.value)
    assert info.value.request_id and f"(request-id {info.value.request_id})" in str(info.value)
    assert not any(canary in text for text in LEAKS.lines + LEAKS.exceptions)


def test_user_create_needs_a_sign_in_name(intune_sim: Factory) -> None:
    server = intune_sim(devices=0)
    with connect_intune(server, user_domain=None) as mdm:
        with raises(ValidationError) as info:
            mdm.users.create(name="Utan Konto", email="utan@example.se")
        assert "user_domain" in str(info.value)
        with raises(ValidationError):
            mdm.users.create(name="Fel", account="åsa@contoso.onmicrosoft.com")  # accents
        with raises(ValidationError):
            mdm.users.create(name="Fel", account="asa@", email="asa@example.se")
        with raises(ValidationError):
            mdm.users.create(name="Fel", account="ok@contoso.onmicrosoft.com", email="åsa@x.se")
    assert server.count() == 0  # all refused before any request, the token's included


def test_user_update_patches_only_the_given_fields(sim: SimServer, mdm: mdmbridge.Client) -> None:
    user = list(mdm.users.list())[7]
    record_before = app(sim).user(user.id)
    updated = mdm.users.update(user.id, phone="+46 70-000 00 00", office=None)
    patch = last_write(sim, "PATCH")
    assert patch.path == f"/v1.0/users/{user.id}"
    assert patch.body == {"mobilePhone": "+46 70-000 00 00", "officeLocation": None}
    assert (updated.phone, updated.office) == ("+46 70-000 00 00", None)
    record_after = app(sim).user(user.id)
    assert record_before is not None and record_after is not None
    untouched = {
        k: v for k, v in record_after.items() if k not in {"mobilePhone", "officeLocation"}
    }
    assert untouched == {k: v for k, v in record_before.items() if k in untouched}
    # A group alone is a membership, not a PATCH; a membership that exists counts as done.
    team = next(g for g in mdm.groups.list() if user.id not in app(sim).member_ids(g.id))
    patches = len([w for w in app(sim).writes if w.method == "PATCH"])
    moved = mdm.users.update(user.id, group_id=team.id)
    again = mdm.users.update(user.id, group_id=team.id)
    assert len([w for w in app(sim).writes if w.method == "PATCH"]) == patches
    assert moved.group_id == again.group_id == team.id
    assert team.id in app(sim).group_ids_of(user.id) and len(app(sim).group_ids_of(user.id)) >= 2
    with raises(ValidationError):
        mdm.users.update(user.id, group_id=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # a sign-in name is not changed through users.update
        mdm.users.update(user.id, account="x@contoso.onmicrosoft.com")  # type: ignore[call-arg]


def test_user_delete_and_missing_records(sim: SimServer, mdm: mdmbridge.Client) -> None:
    user = next(iter(mdm.users.list()))
    mdm.users.delete(user.id)
    with raises(NotFound) as info:
        mdm.users.get(user.id)
    assert "Request_ResourceNotFound: Resource" in str(info.value)
    assert info.value.request_id and info.value.request_id in str(info.value)


def test_errors_carry_graphs_code_and_request_id(sim: SimServer, mdm: mdmbridge.Client) -> None:
    with raises(NotFound) as info:
        mdm.devices.get(MISSING)
    error = info.value
    assert error.status == 404 and error.request_id and len(error.request_id) == 36
    text = str(error)
    # Intune's message is a JSON text: its inner Message is shown, on one line.
    assert "ResourceNotFound: An error has occurred - Operation ID" in text
    assert "_version" not in text and "\n" not in text
    assert text.endswith(f"(request-id {error.request_id}) (HTTP 404)")
    app(sim).forbid(r"managedDevices")
    with raises(PermissionDenied) as denied:
        list(mdm.devices.list())
    assert "Authorization_RequestDenied: Insufficient privileges" in str(denied.value)
    assert denied.value.request_id


def test_graph_rules_read_both_spellings_and_fall_back() -> None:
    rules = wire.GraphRules()
    body = {
        "error": {"code": "X", "message": "first\r\nsecond", "innererror": {"Request-Id": "r-1"}}
    }
    read = rules.parse_error(400, body, "")
    assert read is not None and (read.message, read.request_id, read.status) == (
        "X: first (request-id r-1)", "r-1", None,
    )  # fmt: skip
    duplicate = {"error": {"code": "Request_BadRequest",
                           "message": "Another object with the same value for property x."}}  # fmt: skip
    assert (rules.parse_error(400, duplicate, "") or read).status == 409
    assert rules.parse_error(502, "<html>", "<html>") is None
    assert rules.parse_error(500, {"error": "plain"}, "") is None


def test_ids_are_guids_refused_locally(sim: SimServer, mdm: mdmbridge.Client) -> None:
    for call in (
        lambda: mdm.devices.get("../users"),
        lambda: mdm.users.get("asa@contoso.onmicrosoft.com"),
        lambda: mdm.groups.get("1"),
        lambda: mdm.groups.delete("a/b"),
        lambda: mdm.devices.lock("x?y"),
        lambda: mdm.apps.get("#"),
    ):
        with raises(ValidationError):
            call()
    assert sim.count() == 0


def test_mapping_of_what_intune_leaves_empty() -> None:
    payload = {
        "id": MISSING, "deviceName": "  ", "serialNumber": "C02", "imei": "", "phoneNumber": "",
        "operatingSystem": "AndroidEnterprise", "userId": "00000000-0000-0000-0000-000000000000",
        "lastSyncDateTime": "0001-01-01T00:00:00Z", "udid": None,
    }  # fmt: skip
    device = mdmbridge.mapping.build(
        mdmbridge.Device, m.DEVICE, payload, tenant="t", vendor="intune"
    )
    assert (device.name, device.imei, device.phone_number, device.user_id, device.last_seen) == (
        None, None, None, None, None,
    )  # fmt: skip
    assert device.platform is Platform.ANDROID and device.raw == payload
    assert m.graph_time("9999-12-31T23:59:59Z") is None
    moment = m.graph_time("2016-12-31T23:59:43.7971912-08:00")
    assert moment is not None and moment.utcoffset() is not None and moment.microsecond == 797191
    expected = {"Windows": Platform.WINDOWS, "iPadOS": Platform.IPADOS, "macMDM": Platform.MACOS,
                "Mac OS X": Platform.MACOS, "androidForWork": Platform.ANDROID, "Linux": Platform.UNKNOWN}  # fmt: skip
    assert {k: m.device_platform(k) for k in expected} == expected


def test_derived_names() -> None:
    assert wire.upn_from_email("Åsa..Öberg.@example.se", "contoso.com") == "asa.oberg@contoso.com"
    assert wire.group_nickname("Göteborg / IT: Fält") == "Goteborg-/-IT-Falt"
    assert wire.group_nickname("(( ))") == "group"
    passwords = {wire.temporary_password() for _ in range(20)}
    assert len(passwords) == 20 and all(len(p) == 20 for p in passwords)
    for password in passwords:
        assert any(c.islower() for c in password) and any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)


# ---------------------------------------------------------------------------- commands


def test_commands_map_to_v1_actions(sim: SimServer, mdm: mdmbridge.Client) -> None:
    device = next(iter(mdm.devices.list()))
    receipts = [
        mdm.devices.lock(device.id),
        mdm.devices.wipe(device.id),
        mdm.devices.clear_passcode(device.id),
        mdm.devices.refresh(device.id),
    ]
    assert [(a.device_id, a.action, a.parameters) for a in app(sim).actions] == [
        (device.id, "remoteLock", {}),
        (device.id, "wipe", {}),  # a full wipe
        (device.id, "resetPasscode", {}),
        (device.id, "syncDevice", {}),
    ]
    assert [r.command.kind.value for r in receipts] == ["lock", "wipe", "clear_passcode", "refresh"]
    assert all(r.vendor == "intune" and r.device_id == device.id for r in receipts)
    record = app(sim).device(device.id)
    assert record is not None
    states = {r["actionName"]: r["actionState"] for r in record["deviceActionResults"]}
    assert states == {"remoteLock": "pending", "wipe": "pending", "resetPasscode": "pending",
                      "syncDevice": "done"}  # fmt: skip


def test_what_v1_cannot_do_is_refused_locally(sim: SimServer, mdm: mdmbridge.Client) -> None:
    expected = {
        "groups.read", "groups.write", "groups.delete", "users.read", "users.write",
        "users.delete", "devices.read", "apps.read", "command.lock", "command.wipe",
        "command.clear_passcode", "command.refresh",
    }  # fmt: skip
    assert {str(c) for c in mdmbridge.adapters()["intune"].capabilities} == expected
    for call in (
        lambda: mdm.devices.send_message(MISSING, "Hej"),
        lambda: mdm.devices.install_app(MISSING, "1"),
        lambda: mdm.devices.remove_app(MISSING, "com.x"),
        lambda: mdm.devices.rename(MISSING, "Ny"),
        lambda: mdm.devices.assign_user(MISSING, MISSING),
        lambda: list(mdm.locations.list(device_id=MISSING)),
        lambda: list(mdm.tags.list()),
        lambda: list(mdm.device_tags.list()),
    ):
        with raises(UnsupportedOperation):
            call()
    assert sim.count() == 0


# ---------------------------------------------------------------------------- throttling


def test_429_with_retry_after_is_waited_out(sim: SimServer, mdm: mdmbridge.Client) -> None:
    sim.faults.add("status", status=429, retry_after="1", path="managedDevices", times=1)
    started = time.monotonic()
    assert len(list(mdm.devices.list())) == 150
    assert time.monotonic() - started >= 1.0
    assert graph_gets(sim, "managedDevices")[:2] == [429, 200]


def test_decimal_retry_after_is_rounded_up(sim: SimServer, mdm: mdmbridge.Client) -> None:
    sim.faults.add("status", status=503, retry_after="0.249", path="/groups", times=1)
    started = time.monotonic()
    list(mdm.groups.list())
    assert 1.0 <= time.monotonic() - started < 3.0


def test_a_throttled_command_is_rate_limited_and_sent_once(
    sim: SimServer, mdm: mdmbridge.Client
) -> None:
    device = next(iter(mdm.devices.list()))
    sim.faults.add("status", status=429, retry_after="7", path="remoteLock", times=None)
    with raises(RateLimited) as info:
        mdm.devices.lock(device.id)
    assert info.value.retry_after == 7.0 and "TooManyRequests" in str(info.value)
    assert [r.status for r in sim.log if r.method == "POST" and "remoteLock" in r.path] == [429]
    sim.faults.clear()
    sim.faults.add("status", status=429, retry_after="0", path="managedDevices$", times=None)
    with raises(RateLimited):
        list(mdm.devices.list())
    assert graph_gets(sim, "managedDevices").count(429) == 4  # the try and 3 retries


# ---------------------------------------------------------------------------- the simulator


def test_start_simulator_gives_working_settings() -> None:
    info = mdmbridge.adapters()["intune"]
    with info.adapter_class.start_simulator(devices=5, seed=3) as running:
        assert set(running.settings) == {
            "authority_url", "graph_url", "tenant_id", "client_id", "client_secret", "user_domain",
        }  # fmt: skip
        with mdmbridge.connect("intune", tenant="sim", **running.settings) as mdm:
            assert len(list(mdm.devices.list())) == 5
    with raises(ConfigError):
        info.adapter_class.start_simulator(credentials={"api_key": "x"})


# ---------------------------------------------------------------------------- the CLI


def run_cli(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_config(sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("TEST_INTUNE_SECRET", INTUNE_SECRET)
    lines = []
    for name, secret in (
        ("acme-intune", "env:TEST_INTUNE_SECRET"),
        ("bad-intune", "Wrong~Secret.1"),
    ):
        lines.append(f"[tenants.{name}]")
        lines.append('vendor = "intune"')
        settings = intune_settings(sim, client_secret=secret, retries=0)
        lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        lines.append("")
    path = tmp_path / "tenants.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_cli_check_export_and_resource_commands(
    cli_config: Path, sim: SimServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, cli_config, "check", "--tenant", "acme-intune")
    assert code == 0, err
    assert "acme-intune" in out and "intune" in out and "ok" in out

    output = tmp_path / "inventory.sqlite"
    code, out, err = run_cli(
        capsys, cli_config, "export", "--tenant", "acme-intune", "--format", "sqlite",
        "-o", str(output), "--entities", "devices,users,groups,apps",
    )  # fmt: skip
    assert code == 0, err
    with sqlite3.connect(output) as db:
        counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("devices", "users", "groups", "apps")}  # fmt: skip
        vendors = {v for (v,) in db.execute("SELECT DISTINCT vendor FROM devices")}
    assert counts == {"devices": 150, "users": 120, "groups": 41, "apps": 6}
    assert vendors == {"intune"}

    code, out, err = run_cli(
        capsys, cli_config, "devices", "list", "acme-intune", "--format", "json"
    )
    devices = json.loads(out)
    serial = devices[9]["serial_number"]
    code, out, err = run_cli(
        capsys,
        cli_config,
        "devices",
        "list",
        "acme-intune",
        "--serial-number",
        serial,
        "--format",
        "json",
    )
    assert code == 0 and [d["id"] for d in json.loads(out)] == [devices[9]["id"]]
    code, out, err = run_cli(
        capsys,
        cli_config,
        "groups",
        "create",
        "acme-intune",
        "--name",
        "CLI & Co",
        "--format",
        "json",
    )
    assert code == 0, err
    (created,) = json.loads(out)
    assert created["name"] == "CLI & Co" and app(sim).group(created["id"]) is not None
    code, out, err = run_cli(
        capsys, cli_config, "devices", "send", "acme-intune", devices[9]["id"], "lock"
    )
    assert code == 0, err
    assert app(sim).actions[-1].action == "remoteLock"
    code, out, err = run_cli(
        capsys, cli_config, "devices", "send", "acme-intune", devices[9]["id"], "message", "Hej"
    )
    assert code == 1 and "does not support" in err
    for text in (out, err):
        assert INTUNE_SECRET not in text


def test_cli_wrong_secret_exits_3_with_the_aadsts_code(
    cli_config: Path, sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, cli_config, "devices", "list", "bad-intune")
    assert code == 3, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "AADSTS7000215" in lines[0] and "Traceback" not in err
    assert "Wrong~Secret.1" not in err and INTUNE_SECRET not in err
    code, out, _ = run_cli(capsys, cli_config, "tenants")
    assert INTUNE_SECRET not in out and "Wrong~Secret.1" not in out


def test_simulate_knows_intunes_options(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["simulate", "intune", "--help"]) == 0
    out, _ = capsys.readouterr()
    assert all(flag in out for flag in ("--tenant-id", "--client-id", "--client-secret"))


# ---------------------------------------------------------------------------- the kit


# Where Intune's contract and the kit's assumptions differ, on purpose (strict: when the
# kit learns the difference, these fail and the marks go).
MANY_GROUPS = (
    "a Graph user is in any number of groups: User.group_id is set only when listing by "
    "group (docs/intune-contract.md, 'One group per user'); the kit compares it with a "
    "one-group vendor's field"
)


class TestIntuneConformance(ConformanceSuite):
    """The conformance kit (mdmbridge.testing), with adapters/intune/conformance.py; the
    kit now knows vendors whose users are in many groups, and creates a user its profile
    can hold, so Intune passes it whole."""

    vendor = "intune"


def test_the_read_only_refusal_holds_for_every_intune_write(intune_sim: Factory) -> None:
    """What the kit's read-only check means, with a user the tenant could create."""
    server = intune_sim(devices=3)
    client = connect_intune(server, read_only=True)
    device, group = next(iter(client.devices.list())), next(iter(client.groups.list()))
    user = next(iter(client.users.list()))
    server.reset_counts()
    for call in (
        lambda: client.groups.create(name="Kassa"),
        lambda: client.groups.delete(group.id),
        lambda: client.users.create(name="Åsa", email="asa.ro@example.se"),
        lambda: client.users.delete(user.id),
        lambda: client.users.update(user.id, group_id=group.id),
        lambda: client.devices.lock(device.id),
        lambda: client.devices.wipe(device.id),
    ):
        with raises(DryRunViolation):
            call()
    assert server.writes() == 0 and app(server).writes == []


# ---------------------------------------------------------------------------- last


def test_zz_no_secret_or_token_leaked() -> None:
    """Every log line (DEBUG, urllib3's included) and every error text of this module."""
    assert ISSUED, "the module's simulators issued no token"
    texts = LEAKS.lines + LEAKS.exceptions
    assert texts
    for secret in (INTUNE_SECRET, urllib.parse.quote_plus(INTUNE_SECRET), *ISSUED):
        assert not [t for t in texts if secret in t], "a secret leaked"
    assert not [t for t in texts if "Bearer ey" in t]
    assert os.environ.get("TEST_INTUNE_SECRET") is None
