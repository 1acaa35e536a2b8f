"""The simulators' reliability faults on the wire: each kind against a started simulator,
spoken to with plain ``http.client`` and sockets (never mdmbridge's own client), asserting
the exact bytes, headers and timing, plus the command-line spec form of each kind."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from mdmbridge_duostation.simulator import main as duo_main
from mdmbridge_ezmdm.simulator import main as ez_main

from mdmbridge.simulation import FaultKind, Faults, SimServer
from tests.support import DUO_PASSWORD, DUO_USER

EZ = "faults-test-key"  # its own key: nothing here may put the shared test key in a log
DUO_LISTS = (
    "groups", "users", "devices", "tags", "devicetags", "usertags", "grouptags", "apps",
)  # fmt: skip
Headers = dict[str, str]


def basic(user: str, password: str, encoding: str = "latin-1") -> str:
    token = base64.b64encode(f"{user}:{password}".encode(encoding)).decode("ascii")
    return f"Basic {token}"


DUO_AUTH = {"Authorization": basic(DUO_USER, DUO_PASSWORD)}


def fetch(
    server: SimServer, path: str, headers: Headers | None = None, method: str = "GET"
) -> tuple[int, Headers, list[tuple[str, str]], bytes]:
    """One request on a fresh connection: status, headers (dict and raw list), body bytes."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        pairs = response.getheaders()
        return response.status, {k.lower(): v for k, v in pairs}, pairs, body
    finally:
        conn.close()


def duo(server: SimServer, path: str) -> tuple[int, Headers, bytes]:
    status, headers, _, body = fetch(server, path, DUO_AUTH)
    return status, headers, body


def ez_url(*parts: str, **query: int) -> str:
    path = "/".join(["/api/v1", EZ, *parts])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def ez_json(server: SimServer, path: str) -> dict[str, Any]:
    status, _, _, body = fetch(server, path)
    assert status == 200
    data: dict[str, Any] = json.loads(body)
    assert data["success"] is True, data
    return data


def raw_exchange(server: SimServer, request: bytes) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.sendall(request)
    return sock


def get_bytes(path: str, headers: Headers | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: sim", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def without_date(raw: bytes) -> bytes:
    return b"\r\n".join(line for line in raw.split(b"\r\n") if not line.startswith(b"Date: "))


def compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ------------------------------------------------------------------ the spec form


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("duplicate", {"kind": FaultKind.DUPLICATE}),
        (
            "duplicate:path=/api/devices$:times=inf",
            {"kind": FaultKind.DUPLICATE, "path": "/api/devices$", "times": None},
        ),
        ("ignore_page:times=2", {"kind": FaultKind.IGNORE_PAGE, "times": 2}),
        ("drip", {"kind": FaultKind.DRIP}),
        (
            "drip:delay_s=0.05:methods=GET",
            {"kind": FaultKind.DRIP, "delay_s": 0.05, "methods": ["GET"]},
        ),
        ("charset", {"kind": FaultKind.CHARSET}),
        ("charset:charset=ebcdic-x", {"kind": FaultKind.CHARSET, "charset": "ebcdic-x"}),
        ("bad_gzip:after=1", {"kind": FaultKind.BAD_GZIP, "after": 1}),
        ("nest", {"kind": FaultKind.NEST}),
        ("nest:depth=5000", {"kind": FaultKind.NEST, "depth": 5000}),
        ("body:text=%7B%22x%22%3A1e400%7D", {"kind": FaultKind.BODY, "text": b'{"x":1e400}'}),
        ('body:text={"x":1e400}', {"kind": FaultKind.BODY, "text": b'{"x":1e400}'}),
        ("body:text=%EF%BB%BF[]", {"kind": FaultKind.BODY, "text": b"\xef\xbb\xbf[]"}),
        ("body:text=%FF", {"kind": FaultKind.BODY, "text": b"\xff"}),
        (
            "body:500:text=[1]:times=2",
            {"kind": FaultKind.BODY, "status": 500, "text": b"[1]", "times": 2},
        ),
        ("redirect", {"kind": FaultKind.REDIRECT}),
        (
            "redirect:location=%2Fapi%2Fgroups%2F1",
            {"kind": FaultKind.REDIRECT, "location": "/api/groups/1"},
        ),
        (
            "redirect:307:location=http://127.0.0.2:9/steal:times=2",
            {
                "kind": FaultKind.REDIRECT,
                "status": 307,
                "location": "http://127.0.0.2:9/steal",
                "times": 2,
            },
        ),
        (
            "redirect:location=http%3A%2F%2F127.0.0.2%3A9%2Fsteal",
            {"kind": FaultKind.REDIRECT, "location": "http://127.0.0.2:9/steal"},
        ),
        ("echo_auth", {"kind": FaultKind.ECHO_AUTH}),
        ("echo_auth:401", {"kind": FaultKind.ECHO_AUTH, "status": 401}),
    ],
)
def test_parse_spec(spec: str, expected: dict[str, object]) -> None:
    assert Faults.parse_spec(spec) == expected
    Faults().add_spec(spec)  # and every one is a valid rule


def test_kind_dependent_defaults() -> None:
    faults = Faults()
    by_kind = {kind: faults.add(kind) for kind in FaultKind}
    assert by_kind[FaultKind.BODY].status == 200
    assert by_kind[FaultKind.NEST].status == 200
    assert by_kind[FaultKind.NEST].depth == 100_000
    assert by_kind[FaultKind.REDIRECT].status == 302
    assert by_kind[FaultKind.ECHO_AUTH].status == 502
    assert by_kind[FaultKind.STATUS].status == 503  # unchanged
    assert by_kind[FaultKind.DRIP].delay_s == 0.4
    assert by_kind[FaultKind.DELAY].delay_s == 0.0
    assert by_kind[FaultKind.CHARSET].charset == "x-bogus-charset"
    assert faults.add("body", text="å").text == "å".encode()


@pytest.mark.parametrize(
    "spec",
    [
        "nest:depth=0",
        "drip:delay_s=-1",
        "redirect:location=/a%0D%0ASet-Cookie:x=1",  # no header injection
        "charset:charset=€",  # not latin-1: cannot go out in a header
        "duplicate:size=3",
    ],
)
def test_invalid_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        Faults().add_spec(spec)


def test_shaping_rules_are_offered_not_fired_and_skip_replaced_answers() -> None:
    faults = Faults()
    duplicate = faults.add("duplicate", times=1)
    status = faults.add("status", status=500, times=1)
    chosen = faults.select("GET", "/x")
    assert chosen.failure is status and not chosen.shaping  # the app never runs: no offer
    assert duplicate.fired == 0
    chosen = faults.select("GET", "/x")
    assert chosen.failure is None and chosen.shaping.offered == (duplicate,)
    assert chosen.shaping.take(FaultKind.IGNORE_PAGE) is None
    assert chosen.shaping.take("duplicate") is duplicate
    assert chosen.shaping.take("duplicate") is None  # times=1: taken once, even if re-asked
    assert duplicate.fired == 1


# ------------------------------------------------------------------ duplicate


@pytest.mark.parametrize("resource", DUO_LISTS)
def test_duplicate_on_every_duostation_list(
    duo_sim: Callable[..., SimServer], resource: str
) -> None:
    server = duo_sim(devices=30)
    status, _, clean = duo(server, f"/api/{resource}")
    records = json.loads(clean)
    assert status == 200 and records
    server.faults.add("duplicate")
    status, _, spoiled = duo(server, f"/api/{resource}")
    assert status == 200
    # The first record, byte for byte, once more right after itself.
    assert spoiled == b"[" + compact(records[0]) + b"," + clean[1:]
    assert json.loads(spoiled) == [records[0], *records]
    assert duo(server, f"/api/{resource}")[2] == clean  # times=1: spent


def test_duplicate_on_a_streamed_duostation_array(duo_sim: Callable[..., SimServer]) -> None:
    server = duo_sim(devices=2100)
    _, headers, clean = duo(server, "/api/devices")
    assert headers.get("transfer-encoding") == "chunked"
    server.faults.add("duplicate")
    spoiled = duo(server, "/api/devices")[2]
    first = compact(json.loads(clean)[0])
    assert spoiled == b"[" + first + b"," + clean[1:]


def test_duplicate_waits_for_a_list_it_can_spoil(duo_sim: Callable[..., SimServer]) -> None:
    server = duo_sim(devices=5)
    rule = server.faults.add("duplicate")
    assert duo(server, "/api/devices?serialNumber=NOPE")[2] == b"[]"
    assert duo(server, "/api/groups/1")[0] == 200  # one object, not a list
    assert rule.fired == 0
    records = json.loads(duo(server, "/api/tags")[2])
    assert records[0] == records[1] and rule.fired == 1


def test_duplicate_on_ezmdm_later_pages(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=60, api_key=EZ)
    clean = [ez_json(server, ez_url("device", limit=10, page=p)) for p in (1, 2, 3)]
    rule = server.faults.add("duplicate", times=2)
    assert ez_json(server, ez_url("device", limit=10, page=1)) == clean[0]
    assert rule.fired == 0  # page 1 of a longer listing: nothing to repeat yet
    for page in (2, 3):
        spoiled = ez_json(server, ez_url("device", limit=10, page=page))
        expected = [*clean[page - 1]["data"][:-1], clean[0]["data"][0]]
        assert spoiled == {**clean[page - 1], "data": expected}  # same size, same total
    assert ez_json(server, ez_url("device", limit=10, page=2)) == clean[1]  # spent


def test_duplicate_on_a_one_page_ezmdm_listing(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=30, api_key=EZ)
    clean = ez_json(server, ez_url("device"))
    assert clean["total"] == 30 and len(clean["data"]) == 30
    server.faults.add("duplicate")
    _, _, _, body = fetch(server, ez_url("device"))
    spoiled = json.loads(body)
    assert spoiled == {**clean, "data": [*clean["data"][:-1], clean["data"][0]]}
    assert body.count(compact(clean["data"][0])) == 2


# ------------------------------------------------------------------ ignore_page


def test_ignore_page_serves_page_one_with_the_real_total(
    ez_sim: Callable[..., SimServer],
) -> None:
    server = ez_sim(devices=60, api_key=EZ)
    first = ez_json(server, ez_url("device", limit=10, page=1))
    third = ez_json(server, ez_url("device", limit=10, page=3))
    assert first["data"] != third["data"] and first["total"] == 60
    rule = server.faults.add("ignore_page", times=1)
    assert ez_json(server, ez_url("device", limit=10, page=1)) == first
    assert rule.fired == 0  # page 1 is page 1 either way
    assert ez_json(server, ez_url("device", limit=10, page=3)) == first
    assert ez_json(server, ez_url("device", limit=10, page=3)) == third  # spent


def test_ignore_page_has_no_effect_on_duostation(duo_sim: Callable[..., SimServer]) -> None:
    server = duo_sim(devices=10)
    clean = duo(server, "/api/devices?page=2")[2]
    rule = server.faults.add("ignore_page", times=None)
    assert duo(server, "/api/devices?page=2")[2] == clean
    assert rule.fired == 0


# ------------------------------------------------------------------ drip


def read_all(sock: socket.socket) -> tuple[bytes, int]:
    """Everything until the server closes, and how many reads it took."""
    parts: list[bytes] = []
    while chunk := sock.recv(65536):
        parts.append(chunk)
    return b"".join(parts), len(parts)


def test_drip_sends_the_real_answer_one_byte_at_a_time(
    ez_sim: Callable[..., SimServer],
) -> None:
    server = ez_sim(devices=0, api_key=EZ)
    request = get_bytes(ez_url("group"))
    with raw_exchange(server, request) as sock:
        clean, _ = read_all(sock)
    delay = 0.004
    server.faults.add("drip", delay_s=delay)
    started = time.monotonic()
    with raw_exchange(server, request) as sock:
        dripped, reads = read_all(sock)
    elapsed = time.monotonic() - started
    assert without_date(dripped) == without_date(clean)
    assert dripped.startswith(b"HTTP/1.1 200 OK\r\n")
    assert elapsed >= (len(dripped) - 1) * delay * 0.9
    assert reads > len(dripped) // 2  # bytes arrive one by one, not in a burst


def test_drip_default_delay_and_a_client_that_hangs_up(
    duo_sim: Callable[..., SimServer],
) -> None:
    server = duo_sim(devices=3)
    rule = server.faults.add("drip")
    assert rule.delay_s == 0.4
    before = threading.active_count()
    with raw_exchange(server, get_bytes("/api/groups", DUO_AUTH)) as sock:
        started = time.monotonic()
        assert sock.recv(10) == b"H"
        assert sock.recv(10) == b"T"
        assert time.monotonic() - started >= 0.3
    # The handler notices the hang-up at its next writes and ends, quietly.
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before
    assert duo(server, "/api/groups")[0] == 200  # and the server carries on


def test_stopping_the_server_ends_a_drip(duo_sim: Callable[..., SimServer]) -> None:
    server = duo_sim(devices=3)
    server.faults.add("drip", delay_s=0.5)
    sock = raw_exchange(server, get_bytes("/api/groups", DUO_AUTH))
    try:
        assert sock.recv(10) == b"H"
        started = time.monotonic()
        server.stop()
        rest, _ = read_all(sock)  # the server closes the connection instead of dripping on
        assert time.monotonic() - started < 2
        assert len(rest) <= 1
    finally:
        sock.close()


# ------------------------------------------------------------------ charset, bad_gzip


def test_charset_labels_the_real_answer_with_a_bogus_charset(
    duo_sim: Callable[..., SimServer],
) -> None:
    server = duo_sim(devices=5)
    clean = duo(server, "/api/users")
    server.faults.add("charset")
    status, headers, body = duo(server, "/api/users")
    assert status == 200 and body == clean[2]
    assert headers["content-type"] == "application/json; charset=x-bogus-charset"
    server.faults.add_spec("charset:charset=klingon-8")
    assert duo(server, "/api/users")[1]["content-type"] == "application/json; charset=klingon-8"


def test_bad_gzip_claims_gzip_over_a_plain_body(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(devices=5, api_key=EZ)
    _, clean_headers, _, clean = fetch(server, ez_url("device"))
    assert "content-encoding" not in clean_headers
    server.faults.add("bad_gzip")
    status, headers, _, body = fetch(server, ez_url("device"))
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert body == clean and not body.startswith(b"\x1f\x8b")
    assert headers["content-length"] == str(len(clean))


# ------------------------------------------------------------------ nest, body


def test_nest_default_depth(duo_sim: Callable[..., SimServer]) -> None:
    server = duo_sim(devices=0)
    server.faults.add("nest")
    status, headers, _, body = fetch(server, "/api/groups")  # no credentials: app never runs
    assert status == 200 and headers["content-type"] == "application/json"
    assert body == b"[" * 100_000 + b"]" * 100_000
    assert headers["content-length"] == "200000"


def test_nest_from_a_spec(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(api_key=EZ)
    server.faults.add_spec("nest:depth=3")
    assert fetch(server, ez_url("group"))[3] == b"[[[]]]"


@pytest.mark.parametrize(
    ("spec", "status", "body"),
    [
        ("body:text=%7B%22x%22%3A1e400%7D", 200, b'{"x":1e400}'),
        ("body:text=[{%22Id%22: 1e400}]", 200, b'[{"Id": 1e400}]'),
        ("body:text=%EF%BB%BF[]", 200, b"\xef\xbb\xbf[]"),
        ("body:text=[123456789012345678901234567890123456789012345678901234567890]", 200,
         b"[123456789012345678901234567890123456789012345678901234567890]"),
        ("body:503:text={}", 503, b"{}"),
        ("body", 200, b""),
    ],
)  # fmt: skip
def test_body_sends_the_literal_bytes(
    duo_sim: Callable[..., SimServer], spec: str, status: int, body: bytes
) -> None:
    server = duo_sim(devices=0)
    server.faults.add_spec(spec)
    got_status, headers, _, got = fetch(server, "/api/devices", DUO_AUTH)
    assert (got_status, got) == (status, body)
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(body))


def test_body_given_as_text_from_a_test(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(api_key=EZ)
    server.faults.add("body", text='{"success":true,"data":[{"id":1e400}]}', times=None)
    assert fetch(server, ez_url("device"))[3] == b'{"success":true,"data":[{"id":1e400}]}'
    assert fetch(server, ez_url("group"))[3] == b'{"success":true,"data":[{"id":1e400}]}'


# ------------------------------------------------------------------ redirect


@pytest.mark.parametrize(
    ("spec", "status", "location"),
    [
        ("redirect:location=/api/groups/1", 302, "/api/groups/1"),
        ("redirect:location=%2Fapi%2Fgroups%2F1", 302, "/api/groups/1"),
        ("redirect:307:location=http://127.0.0.2:9/steal", 307, "http://127.0.0.2:9/steal"),
        (
            "redirect:301:location=http%3A%2F%2F127.0.0.2%3A9%2Fsteal",
            301,
            "http://127.0.0.2:9/steal",
        ),
    ],
)
def test_redirect(duo_sim: Callable[..., SimServer], spec: str, status: int, location: str) -> None:
    server = duo_sim(devices=0)
    server.faults.add_spec(spec)
    got_status, headers, pairs, body = fetch(server, "/api/groups", DUO_AUTH)
    assert got_status == status and body == b""
    assert [v for k, v in pairs if k.lower() == "location"] == [location]
    assert headers["content-length"] == "0"
    assert "content-type" not in headers


# ------------------------------------------------------------------ echo_auth


def test_echo_auth_echoes_the_header_as_received(duo_sim: Callable[..., SimServer]) -> None:
    server = duo_sim(devices=0)
    server.faults.add("echo_auth")
    status, headers, _, body = fetch(server, "/api/groups", DUO_AUTH)
    assert status == 502 and headers["content-type"] == "text/plain"
    expected = "proxy error; request headers: Authorization: " + DUO_AUTH["Authorization"]
    assert body == expected.encode("ascii")


def test_echo_auth_keeps_non_ascii_bytes(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(api_key=EZ)
    server.faults.add_spec("echo_auth:401")
    token = "Bearer hemlig-nyckel-\u00e5\u00e4\u00f6"  # sent as latin-1 bytes
    with raw_exchange(server, get_bytes(ez_url("group"), {"Authorization": token})) as sock:
        raw, _ = read_all(sock)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 ")
    assert body == b"proxy error; request headers: Authorization: " + token.encode("latin-1")


def test_echo_auth_without_a_header(ez_sim: Callable[..., SimServer]) -> None:
    server = ez_sim(api_key=EZ)
    server.faults.add("echo_auth")
    assert fetch(server, ez_url("group"))[3] == b"proxy error; request headers: Authorization: "


# ------------------------------------------------------------------ Basic auth charsets


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_duostation_basic_auth_in_either_charset(
    duo_sim: Callable[..., SimServer], encoding: str
) -> None:
    password = "Lösen-åäö-ÿ"
    server = duo_sim(devices=0, password=password)
    good = {"Authorization": basic(DUO_USER, password, encoding)}
    bad = {"Authorization": basic(DUO_USER, password + "x", encoding)}
    assert fetch(server, "/api/groups", good)[0] == 200
    assert fetch(server, "/api/groups", bad)[0] == 401


def test_duostation_basic_auth_utf8_is_tried_first(duo_sim: Callable[..., SimServer]) -> None:
    # "Ã¥" in latin-1 bytes is "å" in UTF-8: each password is recognised from its own bytes.
    for password in ("å", "Ã¥"):
        server = duo_sim(devices=0, password=password)
        for encoding in ("utf-8", "latin-1"):
            header = {"Authorization": basic(DUO_USER, password, encoding)}
            assert fetch(server, "/api/groups", header)[0] == 200, (password, encoding)


# ------------------------------------------------------------------ the stand-alone entry points


def test_vendor_main_takes_the_new_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[SimServer] = []

    def fake_serve(self: SimServer) -> None:
        started.append(self)
        self.stop()

    monkeypatch.setattr(SimServer, "serve_until_interrupted", fake_serve)
    assert ez_main(["--port", "0", "--fault", "redirect:location=http://127.0.0.2:9/steal"]) == 0
    assert duo_main(["--port", "0", "--fault", "body:text=%7B%22x%22%3A1e400%7D"]) == 0
    ez, du = started
    (redirect,) = ez.faults.pick("GET", "/x")
    assert (redirect.kind, redirect.status, redirect.location) == (
        FaultKind.REDIRECT, 302, "http://127.0.0.2:9/steal",
    )  # fmt: skip
    (body,) = du.faults.pick("GET", "/x")
    assert (body.kind, body.text) == (FaultKind.BODY, b'{"x":1e400}')
