"""The transport's reliability rules, each on a real loopback server: Retry-After that does
not parse, the nesting guard against a real parser's depth, secrets in every encoding,
same-origin absolute URLs, and OAuth tokens fetched lazily, cached and renewed on a 401."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdmbridge
from mdmbridge.redaction import Redactor
from mdmbridge.simulation import SimRequest, SimResponse, SimServer
from mdmbridge.transport import Transport
from mdmbridge.transport.body import BodyError, DepthGuard
from mdmbridge.transport.oauth import OAuth2ClientCredentials
from mdmbridge.transport.policy import parse_retry_after
from tests.backends import VENDORS, Backend, start_backend
from tests.support import raises


@pytest.fixture(params=VENDORS)
def backend(
    request: pytest.FixtureRequest,
    duo_sim: Callable[..., SimServer],
    ez_sim: Callable[..., SimServer],
) -> Backend:
    return start_backend(request.param, duo_sim, ez_sim, devices=5)


class TestRetryAfterThatDoesNotParse:
    @pytest.mark.parametrize("value", ["soon", "-5", "1e999", "Tue, 99 Foo 2026", "", "  "])
    def test_unparseable_values_mean_no_advice(self, value: str) -> None:
        assert parse_retry_after(value) is None

    def test_seconds_and_dates_parse(self) -> None:
        assert parse_retry_after("7") == 7.0
        assert parse_retry_after("0") == 0.0
        future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
        assert 25 <= (parse_retry_after(future) or 0) <= 31

    def test_429_with_retry_after_soon_is_rate_limited_after_the_backoff(
        self, backend: Backend
    ) -> None:
        backend.server.faults.add(
            "status", status=429, retry_after="soon", methods=["GET"], times=None
        )
        with raises(mdmbridge.RateLimited) as info:
            list(backend.connect(retries=2).groups.list())
        assert info.value.retry_after is None
        assert backend.server.count("GET") == 3  # retried with the backoff, then given up


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\[]{}é\n', max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='k"\\[{', max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


class TestDepthGuard:
    @settings(derandomize=True, database=None, max_examples=300)
    @given(
        value=_json_values, cut=st.lists(st.integers(1, 9), max_size=40), ascii_only=st.booleans()
    )
    def test_agrees_with_the_real_depth_whatever_the_chunking(
        self, value: Any, cut: list[int], ascii_only: bool
    ) -> None:
        body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
        depth = _depth(value)
        for limit in {depth, max(depth - 1, 0)}:
            guard = DepthGuard(limit)
            chunks, position = [], 0
            for size in cut:
                chunks.append(body[position : position + size])
                position += size
            chunks.append(body[position:])
            refused = False
            try:
                for chunk in chunks:
                    guard.feed(chunk)
            except BodyError:
                refused = True
            assert refused == (depth > limit)

    def test_a_deep_body_is_refused_at_once_and_cheaply(self) -> None:
        body = b"[" * 100_000 + b"]" * 100_000
        started = time.monotonic()
        with pytest.raises(BodyError, match="deeper than 64"):
            DepthGuard().feed(body)
        assert time.monotonic() - started < 2


class TestSecretsInEveryEncoding:
    @pytest.mark.parametrize("secret", ["Lösen:123-Canary", "Пароль€-7319", 'p&ss<wörd>"x'])
    def test_every_wire_form_is_redacted(self, secret: str) -> None:
        redact = Redactor([secret])
        forms = {
            secret,
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            json.dumps(secret)[1:-1],
        }
        with contextlib.suppress(UnicodeEncodeError):
            forms.add(urllib.parse.quote(secret, safe="", encoding="latin-1"))
        for form in forms:
            assert secret not in redact(f"echo: {form} !") or form != secret
            assert form not in redact(f"echo: {form} !"), form

    def test_basic_tokens_in_both_charsets_are_redacted(self) -> None:
        transport = Transport(
            base_url="http://127.0.0.1:9", vendor="v", tenant="t", auth=("api", "Lösen:123-Canary")
        )
        for charset in ("utf-8", "latin-1"):
            token = base64.b64encode("api:Lösen:123-Canary".encode(charset)).decode()
            assert token not in transport.redact(f"Authorization: Basic {token}")

    def test_a_password_outside_latin1_is_sent_as_utf8_not_a_unicode_error(self) -> None:
        transport = Transport(
            base_url="http://127.0.0.1:9", vendor="v", tenant="t", auth=("api", "Пароль€-7319")
        )
        header = transport.auth.headers()["Authorization"]
        assert base64.b64decode(header.split()[1]).decode("utf-8") == "api:Пароль€-7319"


class TestOrigins:
    def test_an_absolute_url_on_another_origin_is_refused_before_sending(self) -> None:
        transport = Transport(base_url="http://127.0.0.1:9", vendor="v", tenant="t")
        with raises(mdmbridge.MDMError, match="not the tenant's origin"):
            transport.request("GET", "http://127.0.0.2:9/steal")


class _TokenAndApi:
    """A token endpoint and a protected resource on one loopback server."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.lifetime = lifetime
        self.tokens: list[str] = []
        self.revoked: set[str] = set()
        self.token_requests = 0
        self.lock = threading.Lock()

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path == "/tenant/token":
            form = request.form()
            with self.lock:
                self.token_requests += 1
                if form.get("client_secret") != "Canary-Secret-0042":
                    return SimResponse.json(
                        {
                            "error": "invalid_client",
                            "error_description": "AADSTS7000215: Invalid client secret provided.",
                        },
                        status=401,
                    )
                token = f"tok-{len(self.tokens)}-canary"
                self.tokens.append(token)
            return SimResponse.json({"access_token": token, "expires_in": self.lifetime})
        bearer = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer not in self.tokens or bearer in self.revoked:
            return SimResponse.json({"error": {"code": "InvalidAuthenticationToken"}}, status=401)
        return SimResponse.json({"ok": True, "token": bearer})

    def error_response(self, status: int, message: str) -> SimResponse:
        return SimResponse.json({"error": {"message": message}}, status=status)


@pytest.fixture
def token_server() -> Iterator[tuple[SimServer, _TokenAndApi]]:
    app = _TokenAndApi()
    server = SimServer(app).start()
    yield server, app
    server.stop()


def _oauth_transport(server: SimServer, secret: str = "Canary-Secret-0042", **kw: Any) -> Transport:
    auth = OAuth2ClientCredentials(
        token_url=server.base_url + "/tenant/token", client_id="app", client_secret=secret
    )
    return Transport(base_url=server.base_url, vendor="v", tenant="t", auth=auth, **kw)


class TestOAuthClientCredentials:
    def test_token_fetched_on_first_use_then_cached(
        self, token_server: tuple[SimServer, _TokenAndApi]
    ) -> None:
        server, app = token_server
        transport = _oauth_transport(server)
        assert app.token_requests == 0  # building a client sends nothing
        for _ in range(3):
            assert transport.request("GET", "/api/thing").data["ok"] is True
        assert app.token_requests == 1

    def test_a_401_renews_the_token_once_and_retries(
        self, token_server: tuple[SimServer, _TokenAndApi]
    ) -> None:
        server, app = token_server
        transport = _oauth_transport(server)
        first = transport.request("GET", "/api/thing").data["token"]
        app.revoked.add(first)
        second = transport.request("GET", "/api/thing").data["token"]
        assert second != first and app.token_requests == 2

    def test_a_token_that_stays_refused_is_an_auth_error_not_a_loop(
        self, token_server: tuple[SimServer, _TokenAndApi]
    ) -> None:
        server, app = token_server
        transport = _oauth_transport(server)
        app.revoked.update(f"tok-{n}-canary" for n in range(10))
        with raises(mdmbridge.AuthError):
            transport.request("GET", "/api/thing")
        assert app.token_requests == 2  # the first token, one renewal, then the error

    def test_a_wrong_secret_names_the_directory_code_and_never_the_secret(
        self, token_server: tuple[SimServer, _TokenAndApi]
    ) -> None:
        server, _ = token_server
        transport = _oauth_transport(server, secret="Wrong-Canary-Secret-77")
        with raises(mdmbridge.AuthError, match="AADSTS7000215") as info:
            transport.request("GET", "/api/thing")
        assert "Wrong-Canary-Secret-77" not in f"{info.value}{info.value!r}"

    def test_tokens_are_redacted_from_the_moment_they_exist(
        self, token_server: tuple[SimServer, _TokenAndApi]
    ) -> None:
        server, _ = token_server
        transport = _oauth_transport(server)
        token = transport.request("GET", "/api/thing").data["token"]
        assert token not in transport.redact(f"the server said {token}")

    def test_a_dry_run_still_fetches_its_token(
        self, token_server: tuple[SimServer, _TokenAndApi]
    ) -> None:
        server, app = token_server
        transport = _oauth_transport(server, read_only=True)
        assert transport.request("GET", "/api/thing").data["ok"] is True
        with raises(mdmbridge.DryRunViolation):
            transport.request("POST", "/api/thing", json_body={})
        assert app.token_requests == 1


class TestSecretsInPayloadErrors:
    def test_a_secret_echoed_into_a_bad_field_is_redacted_even_when_cut(
        self, duo_sim: Callable[..., SimServer]
    ) -> None:
        from tests.conftest import connect_duo
        from tests.support import DUO_PASSWORD

        server = duo_sim(devices=1)
        device = {
            "Id": "0b8e3c8e-9d1e-4a50-bb6c-2f1b8a1c5e77",
            "BatteryLevel": "x" * 70 + DUO_PASSWORD,
        }
        server.faults.add("body", text=json.dumps([device]), path="/api/devices$", times=None)
        with raises(mdmbridge.MalformedResponse, match="battery") as info:
            list(connect_duo(server).devices.list())
        text = f"{info.value}{info.value!r}"
        assert DUO_PASSWORD not in text
        assert DUO_PASSWORD[:8] not in text  # not even the start of it, cut by an excerpt
