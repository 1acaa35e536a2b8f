"""No cassette may hold a test secret, and the scrubbing hooks provably remove them.

The first test reads every file under ``cassettes/`` as it is today; the others feed
hand-built requests and responses through the hooks of ``tests/cassettes.py`` (and through
vcrpy's own record/replay pipeline), so a regression in the filter fails even before anyone
re-records a cassette.
"""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path
from typing import Any

import pytest
from vcr.request import Request

from tests import cassettes
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY, INTUNE_SECRET

BASIC_TOKEN = base64.b64encode(f"{DUO_USER}:{DUO_PASSWORD}".encode()).decode("ascii")
FORBIDDEN_TEXTS = {
    "the DuoSTATION password": DUO_PASSWORD,
    "the ezmdm API key": EZ_KEY,
    "the base64 of user:password": BASIC_TOKEN,
    "the Intune client secret": INTUNE_SECRET,
}
# Any Basic credential at all (not only today's test one), and an Authorization header in
# the YAML (``Authorization:``) or JSON (``"Authorization": ``) serialisation.
BASIC_CREDENTIAL = re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/]{4,}=*")
AUTHORIZATION_HEADER = re.compile(
    r"""(?im)^[\s-]*["']?authorization["']?\s*:|"authorization"\s*:"""
)
# Any bearer credential, and anything shaped like a JWT (the Intune simulator's tokens are).
BEARER_CREDENTIAL = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{8,}")
JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
LOOPBACK = re.compile(r"127\.0\.0\.1|localhost|\[::1\]")
OTHER_KEY = "AnotherRealKey-1234"


def leaks(text: str) -> list[str]:
    """Every reason ``text`` must not be committed."""
    found = [what for what, secret in FORBIDDEN_TEXTS.items() if secret in text]
    found += [f"a Basic credential ({m.group(0)[:12]}...)" for m in BASIC_CREDENTIAL.finditer(text)]
    found += ["an Authorization header" for _ in AUTHORIZATION_HEADER.finditer(text)]
    found += [
        f"a Bearer credential ({m.group(0)[:12]}...)" for m in BEARER_CREDENTIAL.finditer(text)
    ]
    found += ["a JWT-shaped token" for _ in JWT_SHAPED.finditer(text)]
    return found


def cassette_files() -> list[Path]:
    return sorted(p for p in cassettes.CASSETTE_ROOT.rglob("*") if p.is_file())


def test_the_leak_detector_detects() -> None:
    assert leaks(f"uri: http://x/api/v1/{EZ_KEY}/group")
    assert leaks(f'body: \'{{"password":"{DUO_PASSWORD}"}}\'')
    assert leaks("    headers:\n      Authorization:\n      - Basic dXNlcjpwdw==\n")
    assert leaks('{"headers": {"authorization": ["x"]}}')
    assert leaks(f"Basic {BASIC_TOKEN}")
    assert leaks(f"client_secret={INTUNE_SECRET}")
    assert leaks("Authorization: Bearer abcdefgh12345")
    assert leaks('{"access_token":"eyJ0eXAiOiJKV1Qi.c2ltdWxhdGVk"}')
    assert not leaks("Basic <REDACTED> and the API_KEY placeholder")
    assert not leaks('Bearer <REDACTED>, "access_token":"ACCESS_TOKEN", CLIENT_SECRET')


def test_no_cassette_holds_a_secret() -> None:
    files = cassette_files()
    for vendor in cassettes.CANONICAL_BASE_URL:
        assert list(cassettes.cassette_dir(vendor).glob("*.yaml")), f"no {vendor} cassettes"
    problems = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        problems += [f"{path.relative_to(cassettes.REPO_ROOT)}: {why}" for why in leaks(text)]
        if path.suffix == ".yaml":
            # Recorded on the canonical host, never on the simulator's random loopback port.
            assert not LOOPBACK.search(text), f"{path}: recorded with a loopback address"
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------ the hooks


def secret_put(uri_key: str = EZ_KEY) -> Request:
    """A PUT as the ezmdm adapter sends it, carrying every secret we know of."""
    body = f"name=K%C3%A5ssa+%26+Co&note={EZ_KEY}&password={DUO_PASSWORD}"
    return Request(
        "PUT",
        f"http://127.0.0.1:50123/api/v1/{uri_key}/user?trace={EZ_KEY}",
        body.encode("ascii"),
        {
            "Authorization": f"Basic {BASIC_TOKEN}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
            "User-Agent": "mdmbridge/0.1 (+python-requests)",
            "Cookie": f"session={EZ_KEY}",
            "X-Debug": f"key={EZ_KEY}",
        },
    )


def fake_response() -> dict[str, Any]:
    body = f'{{"success":false,"error":"bad key {EZ_KEY}"}}'.encode()
    return {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Content-Type": ["application/json; charset=utf-8"],
            "Content-Length": [str(len(body))],
            "Date": ["Sun, 23 Nov 2025 12:00:00 GMT"],
            "Server": ["BaseHTTP/0.6 Python/3.11.9"],
            "Set-Cookie": [f"session={EZ_KEY}"],
        },
        "body": {"string": body},
    }


def test_request_hook_scrubs_uri_path_body_and_headers() -> None:
    request = secret_put()
    scrubbed = cassettes.request_scrubber("ezmdm")(copy.deepcopy(request))
    assert scrubbed.uri == "http://ezmdm.sim/api/v1/API_KEY/user?trace=API_KEY"
    assert (scrubbed.scheme, scrubbed.host, scrubbed.port) == ("http", "ezmdm.sim", 80)
    body = scrubbed.body.decode()
    assert body == "name=K%C3%A5ssa+%26+Co&note=API_KEY&password=DUO_PASSWORD"
    assert scrubbed.headers["Content-Length"] == str(len(scrubbed.body))
    for name in ("Authorization", "User-Agent", "Cookie"):
        assert name not in scrubbed.headers
    assert scrubbed.headers["X-Debug"] == "key=API_KEY"
    assert not leaks(repr(scrubbed.headers) + scrubbed.uri + body)
    # The original (what is really sent) is untouched: vcrpy hands the hook a copy.
    assert EZ_KEY in request.uri and request.headers["Authorization"].endswith(BASIC_TOKEN)

    # Any key in the path is the key, not only the test one.
    other = cassettes.request_scrubber("ezmdm")(secret_put(uri_key=OTHER_KEY))
    assert other.path == "/api/v1/API_KEY/user"


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH"])
def test_request_hook_scrubs_json_bodies_of_every_method(method: str) -> None:
    body = f'{{"name":"Åsa","password":"{DUO_PASSWORD}","auth":"Basic {BASIC_TOKEN}"}}'
    request = Request(
        method,
        "https://10.0.0.7:8443/api/groups/7",
        body.encode(),
        {"Authorization": f"Basic {BASIC_TOKEN}", "Content-Type": "application/json"},
    )
    scrubbed = cassettes.request_scrubber("duostation")(request)
    assert scrubbed.uri == "http://duostation.sim/api/groups/7"
    text = scrubbed.body.decode()
    assert "Åsa" in text and "DUO_PASSWORD" in text and "Basic <REDACTED>" in text
    assert not leaks(text) and "Authorization" not in scrubbed.headers


def test_response_hook_drops_noise_and_scrubs_the_body() -> None:
    response = cassettes.scrub_response(fake_response())
    assert set(response["headers"]) == {"Content-Type", "Content-Length"}
    body = response["body"]["string"]
    assert body == b'{"success":false,"error":"bad key API_KEY"}'
    assert response["headers"]["Content-Length"] == [str(len(body))]
    # Idempotent: vcrpy runs it again on every interaction it loads.
    assert cassettes.scrub_response(copy.deepcopy(response)) == response


def test_vcr_pipeline_records_scrubbed_and_replays_with_the_real_secrets(
    tmp_path: Path,
) -> None:
    """Through vcrpy itself: what lands on disk is clean, and replay still matches."""
    recorder = cassettes.vcr_for("ezmdm")
    with recorder.use_cassette(
        "hand_built.yaml", cassette_library_dir=str(tmp_path), record_mode="all"
    ) as cassette:
        cassette.append(secret_put(), fake_response())
    saved = (tmp_path / "hand_built.yaml").read_text(encoding="utf-8")
    assert not leaks(saved), leaks(saved)
    assert "uri: http://ezmdm.sim/api/v1/API_KEY/user?trace=API_KEY" in saved
    assert "note=API_KEY&password=DUO_PASSWORD" in saved
    assert not re.search(r"(?im)^\s*(date|server|set-cookie|user-agent|cookie):", saved)

    with recorder.use_cassette(
        "hand_built.yaml", cassette_library_dir=str(tmp_path), record_mode="none"
    ) as replay:
        # The live request still carries the real key, host and port: it matches anyway,
        # because vcrpy applies before_record_request before matching too.
        assert replay.can_play_response_for(secret_put())
        assert replay.can_play_response_for(secret_put(uri_key=OTHER_KEY))
        changed = secret_put()
        changed.body = changed.body.replace(b"K%C3%A5ssa", b"Other")
        assert not replay.can_play_response_for(changed)
        played = replay.play_response(secret_put())
        assert played["body"]["string"] == b'{"success":false,"error":"bad key API_KEY"}'
