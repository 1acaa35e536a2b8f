"""Faults through the whole stack, for every vendor: each ends in success after a safe
retry, or in the right error class with a one-line message; never a raw traceback from
requests, never a re-sent write, never a leaked secret."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import pytest

import mdmbridge
from mdmbridge.simulation import SimServer
from tests.backends import VENDORS, Backend, start_backend
from tests.support import DUO_PASSWORD, EZ_KEY, raises


@pytest.fixture(params=VENDORS)
def backend(
    request: pytest.FixtureRequest,
    duo_sim: Callable[..., SimServer],
    ez_sim: Callable[..., SimServer],
) -> Backend:
    return start_backend(request.param, duo_sim, ez_sim, devices=5)


def write_once(mdm: mdmbridge.Client) -> None:
    """A write both vendors support: create a group."""
    mdm.groups.create(name="Faulty write")


def assert_clean(error: BaseException) -> None:
    text = f"{error}\n{error!r}"
    assert "\n" not in str(error)
    assert DUO_PASSWORD not in text and EZ_KEY not in text
    # no requests exception chained onto ours (its text would carry the raw URL)
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


class TestRetriedReads:
    def test_429_then_success_honours_retry_after(self, backend: Backend) -> None:
        backend.server.faults.add("status", status=429, retry_after=1, methods=["GET"], times=1)
        started = time.monotonic()
        groups = list(backend.connect().groups.list())
        assert groups and time.monotonic() - started >= 0.95
        assert backend.server.count("GET") == 2

    def test_429_with_http_date_retry_after(self, backend: Backend) -> None:
        when = email.utils.formatdate(time.time() + 2, usegmt=True)
        backend.server.faults.add("status", status=429, retry_after=when, methods=["GET"], times=1)
        started = time.monotonic()
        assert list(backend.connect().groups.list())
        assert time.monotonic() - started >= 0.9  # an HTTP-date is whole seconds; at least ~1 s

    def test_503_then_success_on_get(self, backend: Backend) -> None:
        backend.server.faults.add("status", status=503, methods=["GET"], times=2)
        assert list(backend.connect().users.list())
        assert backend.server.count("GET") == 3

    def test_dropped_connection_on_get_is_retried(self, backend: Backend) -> None:
        backend.server.faults.add("drop", methods=["GET"], times=1)
        assert list(backend.connect().devices.list())
        assert backend.server.count("GET") == 2

    def test_truncated_body_on_get_is_fetched_again(self, backend: Backend) -> None:
        backend.server.faults.add("truncate", methods=["GET"], times=1)
        assert len(list(backend.connect().devices.list())) == 5
        assert backend.server.count("GET") == 2


class TestErrorsAfterRetries:
    def test_429_storm_ends_in_rate_limited_with_retry_after(self, backend: Backend) -> None:
        backend.server.faults.add("status", status=429, retry_after=0, times=None)
        with raises(mdmbridge.RateLimited) as info:
            list(backend.connect(retries=2).groups.list())
        assert info.value.status == 429 and info.value.retry_after == 0
        assert backend.server.count("GET") == 3
        assert_clean(info.value)

    def test_5xx_storm_ends_in_vendor_server_error(self, backend: Backend) -> None:
        backend.server.faults.add("status", status=500, times=None)
        with raises(mdmbridge.VendorServerError) as info:
            list(backend.connect(retries=1).groups.list())
        assert info.value.status == 500
        assert_clean(info.value)

    def test_proxy_html_page_is_vendor_server_error_with_excerpt(self, backend: Backend) -> None:
        backend.server.faults.add("html", status=502, times=None)
        with raises(mdmbridge.VendorServerError, match="HTML page") as info:
            backend.connect(retries=0).groups.get(
                "1" if backend.vendor == "duostation" else "1" * 30
            )
        assert "502 Bad Gateway" in str(info.value)
        assert_clean(info.value)

    def test_truncated_body_every_time_is_malformed_response(self, backend: Backend) -> None:
        backend.server.faults.add("truncate", times=None)
        with raises(mdmbridge.MalformedResponse, match="cut off") as info:
            list(backend.connect(retries=1).devices.list())
        assert_clean(info.value)

    def test_timeout_is_transport_error(self, backend: Backend) -> None:
        backend.server.faults.add("delay", delay_s=1.5, times=None)
        with raises(mdmbridge.TransportError, match="timed out") as info:
            list(backend.connect(retries=0, read_timeout_s=0.3).groups.list())
        assert_clean(info.value)

    def test_connection_refused_is_transport_error(self, backend: Backend) -> None:
        mdm = backend.connect(retries=1)
        backend.server.stop()
        with raises(mdmbridge.TransportError) as info:
            list(mdm.groups.list())
        assert "refused" in str(info.value) or "could not connect" in str(info.value)
        assert_clean(info.value)


class TestWritesAreNeverResent:
    def test_write_answered_503_is_not_retried(self, backend: Backend) -> None:
        backend.server.faults.add("status", status=503, methods=["POST", "PUT"], times=1)
        before = backend.server.writes()
        with raises(mdmbridge.VendorServerError) as info:
            write_once(backend.connect())
        assert backend.server.writes() - before == 1
        assert_clean(info.value)

    def test_write_answered_429_is_not_retried(self, backend: Backend) -> None:
        backend.server.faults.add(
            "status", status=429, retry_after=0, methods=["POST", "PUT"], times=1
        )
        with raises(mdmbridge.RateLimited):
            write_once(backend.connect())
        assert backend.server.writes() == 1

    def test_dropped_write_is_not_resent(self, backend: Backend) -> None:
        backend.server.faults.add("drop", methods=["POST", "PUT"], times=1)
        with raises(mdmbridge.TransportError) as info:
            write_once(backend.connect())
        assert backend.server.writes() == 1
        assert_clean(info.value)

    def test_device_command_answered_503_is_sent_once(self, backend: Backend) -> None:
        mdm = backend.connect()
        device = next(iter(mdm.devices.list()))
        backend.server.faults.add("status", status=503, methods=["POST"], times=1)
        with raises(mdmbridge.VendorServerError):
            mdm.devices.refresh(device.id)
        assert backend.server.count("POST") == 1
        assert backend.commands_seen() == []


class TestDryRun:
    def test_read_only_client_refuses_writes_before_sending(self, backend: Backend) -> None:
        mdm = mdmbridge.connect(backend.vendor, tenant="dry", read_only=True, **_settings(backend))
        assert list(mdm.groups.list())  # reads work
        with raises(mdmbridge.DryRunViolation):
            write_once(mdm)
        device = next(iter(mdm.devices.list()))
        with raises(mdmbridge.DryRunViolation):
            mdm.devices.refresh(device.id)
        assert backend.server.writes() == 0


def _settings(backend: Backend) -> dict[str, str]:
    from tests.support import DUO_USER

    if backend.vendor == "duostation":
        return {"base_url": backend.server.base_url, "username": DUO_USER, "password": DUO_PASSWORD}
    return {"base_url": backend.server.base_url, "api_key": EZ_KEY}


def test_html_with_200_status_is_malformed_response(duo_sim: Callable[..., SimServer]) -> None:
    """A captive portal or login page answering 200 with HTML must not parse as data."""
    from mdmbridge.simulation import SimResponse
    from tests.conftest import connect_duo

    server = duo_sim(devices=1)
    original = server.app.handle
    server.app.handle = lambda request: SimResponse(  # the simulator serves a login page
        status=200,
        body=b"<!DOCTYPE html><html><title>Sign in</title></html>",
        content_type="text/html",
    )
    try:
        with raises(mdmbridge.MalformedResponse, match="HTML page") as info:
            list(connect_duo(server).groups.list())
        assert_clean(info.value)
    finally:
        server.app.handle = original


class TestStreamedArrays:
    """DuoSTATION answers whole fleets in one body, read item by item (no paging to lean on)."""

    def test_body_cut_off_mid_stream_is_fetched_again_and_complete(
        self, duo_sim: Callable[..., SimServer]
    ) -> None:
        """The body is spooled before it is parsed, so nothing was yielded when the cut
        arrives: the GET is retried and the listing is whole (it used to raise part-way)."""
        from tests.conftest import connect_duo

        server = duo_sim(devices=3000)  # ~1.4 MB body
        server.faults.add("truncate", methods=["GET"], path="/api/devices$", times=1)
        ids = [device.id for device in connect_duo(server).devices.list()]
        assert len(ids) == len(set(ids)) == 3000
        assert server.count("GET") == 2

    def test_body_always_cut_off_raises_before_yielding_anything(
        self, duo_sim: Callable[..., SimServer]
    ) -> None:
        from tests.conftest import connect_duo

        server = duo_sim(devices=3000)
        server.faults.add("truncate", methods=["GET"], path="/api/devices$", times=None)
        received = 0
        with raises(mdmbridge.MalformedResponse, match="cut off") as info:
            for _ in connect_duo(server).devices.list():
                received += 1
        assert received == 0  # never a short list: not even part of one
        assert_clean(info.value)

    def test_object_where_an_array_belongs_is_malformed(
        self, duo_sim: Callable[..., SimServer]
    ) -> None:
        from mdmbridge.simulation import SimResponse
        from tests.conftest import connect_duo

        server = duo_sim(devices=1)
        original = server.app.handle
        server.app.handle = lambda request: SimResponse.json({"Message": "maintenance"})
        try:
            with raises(mdmbridge.MalformedResponse, match="expected a JSON array, got dict"):
                list(connect_duo(server).devices.list())
            server.app.handle = lambda request: SimResponse(status=200, body=b"")
            with raises(mdmbridge.MalformedResponse, match="got an empty body"):
                list(connect_duo(server).users.list())
            server.app.handle = lambda request: SimResponse(
                status=200, body=b'[{"Id":1,"Name":"a"},{"Id":2,,}]'
            )
            with raises(mdmbridge.MalformedResponse, match="not valid JSON"):
                list(connect_duo(server).tags.list())
        finally:
            server.app.handle = original

    def test_error_status_while_streaming_maps_like_any_other(
        self, duo_sim: Callable[..., SimServer]
    ) -> None:
        from tests.conftest import connect_duo

        server = duo_sim(devices=1)
        server.faults.add("status", status=404, methods=["GET"], times=1)
        with raises(mdmbridge.NotFound):
            list(connect_duo(server).devices.list())


def test_proxy_environment_is_honoured_per_session(
    duo_sim: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment is read once per session (not per request), and still applies: a
    proxy from HTTP_PROXY is used, and NO_PROXY bypasses it."""
    import socket

    from tests.conftest import connect_duo

    server = duo_sim(devices=2)
    with socket.socket() as probe:  # a port nobody listens on: the "proxy" refuses
        probe.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("http_proxy", dead_proxy)
    with raises(mdmbridge.TransportError):
        list(connect_duo(server, retries=0).groups.list())
    assert server.count() == 0  # it went to the proxy, not straight to the server
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert list(connect_duo(server).groups.list())
