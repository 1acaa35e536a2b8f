"""ezmdm specifics: form-encoded writes, envelopes that fail with HTTP 200, one id with two
meanings, the push assumption, settings, and the API key that must never leak.

The last test of this module checks every log line (DEBUG, urllib3 and requests included)
and every exception text recorded while the module ran: the key appears in none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

import mdmbridge
from mdmbridge.simulation import SimServer
from tests.conftest import connect_ez
from tests.support import EZ_KEY, LEAKS, raises

pytestmark = pytest.mark.usefixtures("_debug_logging")


@pytest.fixture
def _debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def server(ez_sim: Callable[..., SimServer]) -> SimServer:
    return ez_sim(devices=40)


@pytest.fixture
def mdm(server: SimServer) -> mdmbridge.Client:
    return connect_ez(server)


@pytest.mark.parametrize(
    "name", ["a&b=c+d é Åsa Öberg", "100% = sant & falskt", "  leading and trailing  ", "x" * 300]
)
def test_form_values_round_trip_exactly(mdm: mdmbridge.Client, name: str) -> None:
    group = mdm.groups.create(name=name)
    assert mdm.groups.get(group.id).name == name
    user = mdm.users.create(name=name, email="a+b@example.se", group_id=group.id)
    assert (user.name, user.email) == (name, "a+b@example.se")


def test_update_sends_only_changed_fields(server: SimServer, mdm: mdmbridge.Client) -> None:
    user = next(iter(mdm.users.list()))
    updated = mdm.users.update(user.id, phone="+46 31 709 60 66")
    assert updated.phone == "+46 31 709 60 66"
    assert (updated.name, updated.email, updated.group_id) == (user.name, user.email, user.group_id)


def test_clearing_a_field_sends_it_empty(mdm: mdmbridge.Client) -> None:
    user = mdm.users.create(name="Tove", email="tove@example.se")
    assert mdm.users.update(user.id, email=None).email is None


def test_envelope_error_with_http_200_is_raised(server: SimServer, mdm: mdmbridge.Client) -> None:
    with raises(mdmbridge.ValidationError, match="Invalid value for groupId") as info:
        mdm.users.create(name="Nils", group_id="123456789012345678901234567890")
    assert info.value.status == 200  # the vendor said 200; the envelope decided


def test_invalid_key_is_auth_error_and_redacted(server: SimServer) -> None:
    wrong = "WRONGkey0000111122"
    with raises(mdmbridge.AuthError, match="Invalid API Key") as info:
        list(connect_ez(server, api_key=wrong).groups.list())
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    assert "/api/v1/***/group" in (info.value.url or "")


def test_get_of_an_owner_id_is_not_found_not_a_crash(mdm: mdmbridge.Client) -> None:
    group = next(iter(mdm.groups.list()))
    user = next(u for u in mdm.users.list() if u.group_id)
    with raises(mdmbridge.NotFound):
        mdm.users.get(group.id)  # /user/<groupId> answers a list: not a user
    with raises(mdmbridge.NotFound):
        mdm.devices.get(user.id)  # /device/<userId> answers a list: not a device


def test_list_by_an_item_id_is_not_found(mdm: mdmbridge.Client) -> None:
    user = next(iter(mdm.users.list()))
    with raises(mdmbridge.NotFound, match="is not a group id"):
        list(mdm.users.list(group_id=user.id))


def test_users_of_group_and_devices_of_user(server: SimServer, mdm: mdmbridge.Client) -> None:
    users = list(mdm.users.list())
    devices = list(mdm.devices.list())
    owner = next(u for u in users if any(d.user_id == u.id for d in devices))
    assert {d.id for d in mdm.devices.list(user_id=owner.id)} == {
        d.id for d in devices if d.user_id == owner.id
    }
    group_id = owner.group_id
    assert group_id is not None
    assert {u.id for u in mdm.users.list(group_id=group_id)} == {
        u.id for u in users if u.group_id == group_id
    }


def test_locations_of_a_device(server: SimServer, mdm: mdmbridge.Client) -> None:
    devices = list(mdm.devices.list())
    seen = 0
    for device in devices:
        locations = list(mdm.locations.list(device_id=device.id))
        seen += len(locations)
        for location in locations:
            assert location.device_id == device.id
            assert 55 <= location.latitude <= 70 and 10 <= location.longitude <= 25
            assert location.timestamp is not None and location.timestamp.tzinfo is not None
    assert seen > 0


def test_push_is_the_refresh_command(server: SimServer, mdm: mdmbridge.Client) -> None:
    device = next(iter(mdm.devices.list()))
    mdm.devices.refresh(device.id)
    assert server.app.pushes == [device.id]


def test_rename_device(mdm: mdmbridge.Client) -> None:
    device = next(iter(mdm.devices.list()))
    assert mdm.devices.rename(device.id, "Bob's iPhone").name == "Bob's iPhone"


def test_fields_ezmdm_cannot_hold_are_refused_locally(
    server: SimServer, mdm: mdmbridge.Client
) -> None:
    server.reset_counts()
    with raises(mdmbridge.ValidationError, match="cannot hold company"):
        mdm.users.create(name="Nils", company="Ångström AB")
    with raises(mdmbridge.ValidationError, match="groups cannot hold number"):
        mdm.groups.create(name="G", number="12")
    assert server.count() == 0


@pytest.mark.parametrize("bad_id", ["../group", "a b", "", "x" * 200, "ab/cd", "ab?c"])
def test_malformed_ids_are_refused_before_any_request(
    server: SimServer, mdm: mdmbridge.Client, bad_id: str
) -> None:
    server.reset_counts()
    with raises(mdmbridge.ValidationError):
        mdm.devices.get(bad_id)
    assert server.count() == 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"api_key": "ab"}, "api_key"),
        ({"api_key": "has space in it"}, "api_key"),
        ({"api_key": EZ_KEY, "base_url": "ftp://x"}, "base_url"),
        ({"api_key": EZ_KEY, "page_size": 101}, "page_size"),
        ({"api_key": EZ_KEY, "apikey": "x"}, "apikey: unknown setting"),
        ({}, "api_key: Field required"),
    ],
)
def test_bad_settings_are_one_line_config_errors(settings: dict[str, object], message: str) -> None:
    with raises(mdmbridge.ConfigError, match=message) as info:
        mdmbridge.connect("ezmdm", tenant="acme-ez", **settings)
    assert "\n" not in str(info.value) and "has space in it" not in str(info.value)


def test_repr_of_client_and_settings_hide_the_key(server: SimServer, mdm: mdmbridge.Client) -> None:
    texts = [
        repr(mdm),
        repr(mdm.adapter),
        repr(mdm.adapter.settings),
        str(mdm.adapter.settings),
        repr(mdm.adapter.http),
    ]  # type: ignore[attr-defined]
    assert all(EZ_KEY not in text for text in texts)


def test_envelope_text_decides_the_class_on_non_2xx_too(
    server: SimServer, mdm: mdmbridge.Client
) -> None:
    from mdmbridge.simulation import SimResponse

    original = server.app.handle
    server.app.handle = lambda request: SimResponse.json(
        {"success": False, "error": "Invalid API Key"}, status=403
    )
    try:
        with raises(mdmbridge.AuthError) as info:
            list(mdm.groups.list())
        assert info.value.status == 403  # recorded as sent; classified by the text
    finally:
        server.app.handle = original


def test_zz_the_key_never_leaked(caplog: pytest.LogCaptureFixture, mdm: mdmbridge.Client) -> None:
    """Runs last in this module: everything logged or raised so far is free of the key."""
    list(mdm.devices.list())  # make sure at least one request line was logged in this test too
    lines = [*LEAKS.lines, caplog.text]
    assert any("/api/v1/***/device" in line for line in lines), (
        "urllib3 request lines were not captured"
    )
    assert len(LEAKS.exceptions) >= 20
    for text in lines + LEAKS.exceptions:
        assert EZ_KEY not in text
