"""The one place that configures vcrpy for the cassette tests.

``vcr_for(vendor)`` builds a :class:`vcr.VCR` that stores cassettes in
``cassettes/<vendor>/``, replays them (``record_mode="none"``) unless
``MDMBRIDGE_RECORD_CASSETTES=1`` asks to record them afresh (``"all"``), and scrubs every
test secret before anything is written:

* request headers ``Authorization``, ``Cookie``, ``Set-Cookie``, ``User-Agent``, ``Date`` and
  ``Server`` are dropped (vcrpy's ``filter_headers``);
* the request URI gets a fixed scheme/host/port (``http://<vendor>.sim``), so a cassette does
  not depend on the simulator's random port, and the ezmdm API key in the URI *path* becomes
  ``API_KEY``;
* every known secret (and its URL-encoded forms, and any ``Basic <token>``) is replaced in the
  URI, the remaining header values and the request BODY of every method (ezmdm adds items
  with a form-encoded PUT). This is by value, wherever the secret sits; vcrpy's
  ``filter_post_data_parameters`` only removes parameters by name (and, in vcrpy releases
  before 9, only for POST);
* responses lose their noisy, run-dependent headers (``Date``, ``Server``, cookies,
  connection management, Graph's request ids) and get the same secret scrub on their body;
* OAuth: an ``access_token`` in a token answer becomes ``ACCESS_TOKEN``, any ``Bearer``
  credential ``Bearer <REDACTED>``, and the ``password`` of a ``passwordProfile`` (a new
  Entra user's temporary password, random on every run) ``PASSWORD``;
* the simulator's own origin (``http://127.0.0.1:<port>``) in a body or header, raw or
  URL-encoded, becomes the canonical host: Graph's next links and ``@odata.id`` references
  carry it, and a replayed client follows them.

vcrpy runs ``before_record_request`` on the live request when it looks for a match during
replay too, so replay compares the scrubbed forms: a client connected to the canonical host
(which never resolves) with the real test secrets matches the recorded interactions.
"""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vcr
from vcr.request import Request

from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY, INTUNE_SECRET

REPO_ROOT = Path(__file__).resolve().parent.parent
CASSETTE_ROOT = REPO_ROOT / "cassettes"
RECORD_ENV = "MDMBRIDGE_RECORD_CASSETTES"

# Where each vendor's recorded requests claim to have gone; ``.sim`` never resolves.
CANONICAL_BASE_URL: dict[str, str] = {
    "duostation": "http://duostation.sim",
    "ezmdm": "http://ezmdm.sim",
    "intune": "http://intune.sim",  # the token endpoint and Graph's /v1.0, as the simulator
}

FILTERED_REQUEST_HEADERS = (
    "Authorization",
    "Cookie",
    "Set-Cookie",
    "User-Agent",
    "Date",
    "Server",
    "client-request-id",
)
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "date",
        "server",
        "set-cookie",
        "cookie",
        "connection",
        "keep-alive",
        "request-id",
        "client-request-id",
        "x-ms-request-id",
        "x-ms-ags-diagnostic",
    }
)
MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "body")

API_KEY_PLACEHOLDER = "API_KEY"
BASIC_TOKEN = base64.b64encode(f"{DUO_USER}:{DUO_PASSWORD}".encode()).decode("ascii")

# (secret, placeholder), longest first so a secret containing another is replaced whole.
SECRETS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        (
            (BASIC_TOKEN, "BASIC_TOKEN"),
            (DUO_PASSWORD, "DUO_PASSWORD"),
            (EZ_KEY, API_KEY_PLACEHOLDER),
            (INTUNE_SECRET, "CLIENT_SECRET"),
        ),
        key=lambda pair: len(pair[0]),
        reverse=True,
    )
)

_BASIC_CREDENTIAL = re.compile(r"(?i)\bBasic\s+[A-Za-z0-9+/_-]{4,}={0,2}")
_BEARER_CREDENTIAL = re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/-]{4,}=*")
_ACCESS_TOKEN = re.compile(r'("access_token"\s*:\s*)"[^"]*"')
_PASSWORD_VALUE = re.compile(
    r'("passwordProfile"\s*:\s*\{[^{}]*?"password"\s*:\s*)"(?:[^"\\]|\\.)*"'
)
_LOOPBACK_ORIGIN = re.compile(r"http://(?:127\.0\.0\.1|localhost):[0-9]{1,5}")
_LOOPBACK_ORIGIN_ENCODED = re.compile(r"(?i)http%3A%2F%2F(?:127\.0\.0\.1|localhost)%3A[0-9]{1,5}")
_EZMDM_KEY_SEGMENT = re.compile(r"(?i)^(/api/v1/)[^/?#]+")


def recording() -> bool:
    """True when this run records cassettes from live simulators instead of replaying."""
    return os.environ.get(RECORD_ENV, "").strip() == "1"


def cassette_dir(vendor: str) -> Path:
    return CASSETTE_ROOT / vendor


def _variants(secret: str) -> list[str]:
    """The secret as sent raw, in a URL path or query, or in a form body."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return sorted(forms, key=len, reverse=True)


def scrub_text(text: str) -> str:
    """Every test secret, in every encoding it can travel in, replaced by its placeholder."""
    for secret, placeholder in SECRETS:
        for variant in _variants(secret):
            text = text.replace(variant, placeholder)
    text = _BASIC_CREDENTIAL.sub("Basic <REDACTED>", text)
    text = _BEARER_CREDENTIAL.sub("Bearer <REDACTED>", text)
    text = _ACCESS_TOKEN.sub(r'\g<1>"ACCESS_TOKEN"', text)
    return _PASSWORD_VALUE.sub(r'\g<1>"PASSWORD"', text)


def canonical_origins(text: str, vendor: str) -> str:
    """The simulator's loopback origin, raw or URL-encoded, as the vendor's canonical host."""
    canonical = CANONICAL_BASE_URL[vendor]
    text = _LOOPBACK_ORIGIN.sub(canonical, text)
    return _LOOPBACK_ORIGIN_ENCODED.sub(urllib.parse.quote(canonical, safe=""), text)


def scrub_bytes(data: bytes) -> bytes:
    """``scrub_text`` for a body; bytes that are not UTF-8 are scrubbed byte-wise."""
    try:
        return scrub_text(data.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        for secret, placeholder in SECRETS:
            for variant in _variants(secret):
                data = data.replace(variant.encode(), placeholder.encode())
        return data


def canonical_uri(uri: str, vendor: str) -> str:
    """The URI on the vendor's canonical host, with the ezmdm key in the path replaced."""
    canonical = urllib.parse.urlsplit(CANONICAL_BASE_URL[vendor])
    parts = urllib.parse.urlsplit(uri)
    path = parts.path
    if vendor == "ezmdm":
        # Whatever key was used (a test key or a real one), the segment after /api/v1/ is it.
        path = _EZMDM_KEY_SEGMENT.sub(r"\g<1>" + API_KEY_PLACEHOLDER, path)
    rebuilt = urllib.parse.urlunsplit(
        (canonical.scheme, canonical.netloc, path, parts.query, parts.fragment)
    )
    return scrub_text(rebuilt)


def request_scrubber(vendor: str) -> Callable[[Request], Request]:
    """The ``before_record_request`` hook for one vendor (vcrpy passes it a deep copy)."""
    if vendor not in CANONICAL_BASE_URL:
        raise ValueError(f"no canonical host for vendor {vendor!r}")

    def scrub_request(request: Request) -> Request:
        request.uri = canonical_uri(request.uri, vendor)
        headers = request.headers
        for name in FILTERED_REQUEST_HEADERS:  # also done by filter_headers; kept here so
            headers.pop(name, None)  # this hook alone is enough when tested on its own
        for name in list(headers):
            value = headers[name]
            if isinstance(value, str):
                headers[name] = scrub_text(value)
        body = request.body
        if isinstance(body, (bytes, bytearray)) and body:
            scrubbed = _canonical_bytes(scrub_bytes(bytes(body)), vendor)
            if scrubbed != body:
                request.body = scrubbed
                if "Content-Length" in headers:
                    headers["Content-Length"] = str(len(scrubbed))
        request.headers = headers
        return request

    return scrub_request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """The ``before_record_response`` hook: drop noisy headers, scrub the body."""
    headers = response.get("headers") or {}
    kept: dict[str, Any] = {}
    for name, values in headers.items():
        if name.lower() in DROPPED_RESPONSE_HEADERS:
            continue
        if isinstance(values, list):
            values = [scrub_text(v) if isinstance(v, str) else v for v in values]
        kept[name] = values
    response["headers"] = kept
    body = response.get("body") or {}
    data = body.get("string")
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, bytes) and data:
        scrubbed = scrub_bytes(data)
        if scrubbed != data:
            body["string"] = scrubbed
            # urllib3 enforces Content-Length on replay: keep it true to the scrubbed body.
            for name in kept:
                if name.lower() == "content-length":
                    kept[name] = [str(len(scrubbed))]
    return response


def _canonical_bytes(data: bytes, vendor: str) -> bytes:
    try:
        return canonical_origins(data.decode("utf-8"), vendor).encode("utf-8")
    except UnicodeDecodeError:
        return data


def response_scrubber(vendor: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``scrub_response``, after the simulator's origin in bodies and headers became the
    vendor's canonical host (so a replayed client follows Graph's next links there)."""

    def scrub(response: dict[str, Any]) -> dict[str, Any]:
        headers = response.get("headers") or {}
        for name, values in headers.items():
            if isinstance(values, list):
                headers[name] = [
                    canonical_origins(v, vendor) if isinstance(v, str) else v for v in values
                ]
        body = response.get("body") or {}
        data = body.get("string")
        if isinstance(data, str):
            data = data.encode("utf-8")
        if isinstance(data, bytes) and data:
            rewritten = _canonical_bytes(data, vendor)
            if rewritten != data:
                body["string"] = rewritten
                for name in headers:  # urllib3 enforces Content-Length on replay
                    if name.lower() == "content-length":
                        headers[name] = [str(len(rewritten))]
        return scrub_response(response)

    return scrub


def vcr_for(vendor: str) -> vcr.VCR:
    """The configured VCR for one vendor's cassettes."""
    return vcr.VCR(
        cassette_library_dir=str(cassette_dir(vendor)),
        record_mode="all" if recording() else "none",
        decode_compressed_response=True,
        filter_headers=FILTERED_REQUEST_HEADERS,
        before_record_request=request_scrubber(vendor),
        before_record_response=response_scrubber(vendor),
        match_on=MATCH_ON,
        # Re-recording rewrites a cassette whole; nothing stale survives from the last run.
        drop_unused_requests=recording(),
    )
