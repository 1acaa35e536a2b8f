"""The transport's connection pools (``mdmbridge.transport.pools``): the environment's
proxy, NO_PROXY and CA settings, read as requests read them, now that the transport sends
through urllib3 directly; and the wire form of a request (query, default headers)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import certifi
import pytest

import mdmbridge
from mdmbridge.transport import Transport
from mdmbridge.transport.pools import (
    bypass_proxy,
    environ_proxy,
    open_pools,
    request_headers,
    request_url,
)

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


class RecordingProxy:
    """A loopback HTTP proxy that answers every request itself and records what it got:
    the request line's target (absolute for a proxied request) and its headers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                recorder.seen.append(
                    ("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                body = json.dumps({"via": "proxy"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    running = RecordingProxy()
    yield running
    running.stop()


def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_request_goes_through_the_environment_proxy_with_its_credentials(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = f"http://127.0.0.2:{dead_port()}"  # nobody there: only the proxy can answer
    user, password = "proxy user", "p@ss:word"
    credentials = f"{user.replace(' ', '%20')}:{password.replace('@', '%40')}"
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", f"http://{credentials}@"))
    http = Transport(base_url=target, vendor="test", tenant="t", retry=None)
    try:
        result = http.request("GET", "/api/things", params={"page": 2, "q": "a b"})
    finally:
        http.close()
    assert result.data == {"via": "proxy"}
    [(method, path, headers)] = proxy.seen
    assert (method, path) == ("GET", f"{target}/api/things?page=2&q=a+b")
    expected = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert headers["proxy-authorization"] == f"Basic {expected}"
    assert headers["accept"] == "application/json"
    assert "gzip" in headers["accept-encoding"]


def test_no_proxy_cidr_range_sends_the_request_directly(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.org, 127.0.0.0/8")
    from mdmbridge.transport.policy import RetryPolicy

    http = Transport(
        base_url=f"http://127.0.0.2:{dead_port()}",
        vendor="test",
        tenant="t",
        retry=RetryPolicy(attempts=0),
    )
    try:
        with pytest.raises(mdmbridge.TransportError, match="connection refused"):
            http.request("GET", "/api/things")
    finally:
        http.close()
    assert proxy.seen == []  # straight to the (closed) port, never to the proxy


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "bypassed"),
    [
        ("api.example.com", None, None, False),
        ("api.example.com", None, "", False),
        ("api.example.com", None, "*", True),
        ("api.example.com", None, "example.com", True),
        ("api.example.com", None, ".example.com", True),
        ("example.com", None, ".example.com", True),
        ("api.example.com", 8443, "example.com:8443", True),
        ("api.example.com", 8443, "example.com:443", False),
        ("api.example.net", None, "example.com,other.org", False),
        ("10.1.2.3", None, "10.0.0.0/8", True),
        ("10.1.2.3", None, "10.1.2.3", True),
        ("10.1.2.3", None, "192.168.0.0/16, 10.1.2.4", False),
        ("10.1.2.3", None, "not/a/cidr", False),
        ("::1", None, "::1/128", True),
    ],
)
def test_no_proxy_rules_match_requests(
    host: str, port: int | None, no_proxy: str | None, bypassed: bool
) -> None:
    assert bypass_proxy(host, port, no_proxy) is bypassed


def test_proxy_choice_by_scheme_then_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:3128")  # no scheme: http:// assumed
    monkeypatch.setenv("ALL_PROXY", "http://fallback.corp:8080")
    assert environ_proxy("https://graph.example.com/v1.0") == "http://proxy.corp:3128"
    assert environ_proxy("http://mdm.example.com") == "http://fallback.corp:8080"
    monkeypatch.setenv("NO_PROXY", "example.com")
    assert environ_proxy("https://graph.example.com/v1.0") is None


def test_a_socks_proxy_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:secret-proxy-pw@127.0.0.1:1080")
    with pytest.raises(mdmbridge.ConfigError, match="socks5 proxy") as caught:
        open_pools("https://mdm.example.com", maxsize=2)
    assert "secret-proxy-pw" not in str(caught.value) and "\n" not in str(caught.value)


def test_ca_bundle_from_the_environment_else_certifi(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert open_pools("https://x.example", maxsize=1).connection_pool_kw["ca_certs"] == (
        certifi.where()
    )
    bundle = tmp_path / "corp.pem"
    bundle.write_text("")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bundle))
    kw = open_pools("https://x.example", maxsize=1).connection_pool_kw
    assert kw["ca_certs"] == str(bundle) and kw["cert_reqs"] == "CERT_REQUIRED"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))  # a directory: ca_cert_dir
    kw = open_pools("https://x.example", maxsize=1).connection_pool_kw
    assert kw["ca_cert_dir"] == str(tmp_path) and "ca_certs" not in kw


def test_query_and_default_headers_as_requests_sent_them() -> None:
    assert request_url("http://h/p", None) == "http://h/p"
    assert request_url("http://h/p?$skip=5", {"a": 1}) == "http://h/p?$skip=5&a=1"
    assert request_url("http://h/p#frag", {"q": "ä&"}) == "http://h/p?q=%C3%A4%26"
    get = request_headers("GET", None, {"Accept": "text/csv"}, "ua/1")
    assert get["Accept"] == "text/csv" and get["User-Agent"] == "ua/1"
    assert "Content-Length" not in get
    assert request_headers("DELETE", None, {}, "ua/1")["Content-Length"] == "0"
    assert "Content-Length" not in request_headers("POST", b"{}", {}, "ua/1")


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[tuple[str, str, list[int]]]:
    """A loopback HTTPS server with a self-signed certificate for 127.0.0.1: its URL, the
    certificate's file, and a list that grows by one for every connection it accepts."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server = RecordingProxy()  # the same answering server, behind TLS
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    accepted: list[int] = []
    accept = server.server.get_request

    def counting_accept() -> Any:
        accepted.append(1)  # before the handshake, which fails inside accept()
        return accept()

    server.server.get_request = counting_accept  # type: ignore[method-assign]
    try:
        yield server.url.replace("http://", "https://"), str(cert), accepted
    finally:
        server.stop()


def test_tls_is_verified_against_the_environment_bundle(
    tls_server: tuple[str, str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert, accepted = tls_server
    from mdmbridge.transport.policy import RetryPolicy

    def get() -> Any:
        http = Transport(base_url=url, vendor="test", tenant="t", retry=RetryPolicy(attempts=2))
        try:
            return http.request("GET", "/api/things").data
        finally:
            http.close()

    with pytest.raises(mdmbridge.TransportError, match="TLS certificate verification failed"):
        get()  # self-signed, so not in certifi's bundle
    assert len(accepted) == 1  # a refused certificate is not retried: it is the same next time
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    assert get() == {"via": "proxy"}
