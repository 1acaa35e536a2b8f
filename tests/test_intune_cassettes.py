"""Intune workflows through the public API, replayed from vcrpy cassettes in
``cassettes/intune/`` (``record_mode="none"``, no simulator): the client talks to
``http://intune.sim`` as both its authority and its Graph, which never resolves, so a request
that is not in a cassette fails loudly. Re-record them from a fresh simulator with::

    MDMBRIDGE_RECORD_CASSETTES=1 .venv/bin/python -m pytest tests/test_intune_cassettes.py

What is scrubbed before anything is written (``tests/cassettes.py``): the client secret in
the token request's form body, the bearer token in ``Authorization`` (dropped), the token
answer's ``access_token``, a new user's temporary password, Graph's run-dependent ids and
headers, and the simulator's loopback origin inside bodies (next links, ``@odata.id``).
``tests/test_cassette_secrets.py`` scans every cassette for all of it. Recordings are not
byte-identical from run to run (skiptokens and the ids of created records are random), but
every replay sends exactly the recorded requests, in order, and plays every one.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mdmbridge_intune.simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_DOMAIN,
    DEFAULT_TENANT_ID,
    IntuneSimulator,
    start_simulator,
)

import mdmbridge
from mdmbridge.simulation import SimServer
from tests import cassettes
from tests.support import INTUNE_SECRET, raises

SEED = 1
DEVICES = 12
DEVICE_PAGE = 5  # three pages of managed devices
VENDOR = "intune"


@contextlib.contextmanager
def cassette_client(name: str) -> Iterator[tuple[mdmbridge.Client, IntuneSimulator | None]]:
    """A client whose every request goes through ``cassettes/intune/<name>.yaml``, and the
    simulator when recording (None on replay: test hooks run only while recording)."""
    path = cassettes.cassette_dir(VENDOR) / f"{name}.yaml"
    server: SimServer | None = None
    if cassettes.recording():
        server = start_simulator(
            devices=DEVICES, seed=SEED, client_secret=INTUNE_SECRET, device_page_size=DEVICE_PAGE
        )
        base_url = server.base_url
    else:
        assert path.is_file(), (
            f"missing cassette {path.relative_to(cassettes.REPO_ROOT)}; record it with "
            f"{cassettes.RECORD_ENV}=1 .venv/bin/python -m pytest tests/test_intune_cassettes.py"
        )
        base_url = cassettes.CANONICAL_BASE_URL[VENDOR]
    try:
        with cassettes.vcr_for(VENDOR).use_cassette(path.name) as cassette:
            client = mdmbridge.connect(
                VENDOR,
                tenant="intune-cassette",
                authority_url=base_url,
                graph_url=f"{base_url}/v1.0",
                tenant_id=DEFAULT_TENANT_ID,
                client_id=DEFAULT_CLIENT_ID,
                client_secret=INTUNE_SECRET,
                user_domain=DEFAULT_DOMAIN,
                retries=0,
            )
            try:
                sim = server.app if server is not None else None
                assert sim is None or isinstance(sim, IntuneSimulator)
                yield client, sim
            finally:
                client.close()
    finally:
        if server is not None:
            server.stop()
    if cassettes.recording():
        assert len(cassette) > 0
    else:
        unplayed = len(cassette) - cassette.play_count
        assert cassette.all_played, f"{unplayed} recorded interaction(s) were never requested"


def test_intune_inventory() -> None:
    with cassette_client("inventory") as (mdm, _):
        devices = list(mdm.devices.list())  # three pages through @odata.nextLink
        assert len(devices) == DEVICES
        assert all(len(d.id) == 36 and d.serial_number for d in devices)
        groups = list(mdm.groups.list())
        users = list(mdm.users.list())
        assert (len(groups), len(users)) == (41, 9)
        assert all(g.parent_id is None and g.path == g.name for g in groups)
        assert all(
            u.group_id is None and u.account and u.account.endswith(DEFAULT_DOMAIN) for u in users
        )

        device = next(d for d in devices if d.platform is mdmbridge.Platform.IOS)
        fetched = mdm.devices.get(device.id)
        assert fetched.udid and device.udid is None  # only a single GET fills it
        by_serial = list(mdm.devices.list(serial_number=device.serial_number))
        assert [d.id for d in by_serial] == [device.id]
        owned = list(mdm.devices.list(user_id=device.user_id))
        assert [d.id for d in owned] == [d.id for d in devices if d.user_id == device.user_id]

        staff = next(g for g in groups if g.name == "Alla medarbetare")
        members = list(mdm.users.list(group_id=staff.id))
        assert {u.id for u in members} == {u.id for u in users}
        assert all(u.group_id == staff.id for u in members)
        owner = next(u for u in users if u.id == device.user_id)
        assert [u.id for u in mdm.users.list(email=owner.email)] == [owner.id]
        assert [u.id for u in mdm.users.list(phone=owner.phone)] == [owner.id]

        apps = list(mdm.apps.list())
        assert len(apps) == 6
        assert {a.store for a in apps} >= {mdmbridge.AppStore.APP_STORE, mdmbridge.AppStore.PLAY}


def test_intune_writes_and_commands() -> None:
    with cassette_client("writes_commands") as (mdm, sim):
        group = mdm.groups.create(name="Kassett & Co / Göteborg", notes="inspelad")
        assert (group.name, group.notes, group.parent_id) == (
            "Kassett & Co / Göteborg",
            "inspelad",
            None,
        )
        renamed = mdm.groups.update(group.id, name="Kassett & Co / Malmö")
        assert renamed.name == "Kassett & Co / Malmö" and renamed.notes == "inspelad"

        user = mdm.users.create(
            name="Örjan Kassettsson",
            email="orjan.kassettsson@example.se",
            group_id=group.id,
            department="Lager & Logistik",
        )
        assert (user.account, user.group_id) == (f"orjan.kassettsson@{DEFAULT_DOMAIN}", group.id)
        assert [u.id for u in mdm.users.list(group_id=group.id)] == [user.id]
        moved = mdm.users.update(user.id, phone="+46701234567", position="Tekniker")
        assert (moved.phone, moved.position, moved.department) == (
            "+46701234567",
            "Tekniker",
            "Lager & Logistik",
        )
        if sim is not None:  # what Graph received: only the fields given
            assert sim.writes[-1].body == {"mobilePhone": "+46701234567", "jobTitle": "Tekniker"}

        device = next(iter(mdm.devices.list()))
        assert mdm.devices.lock(device.id).command.kind is mdmbridge.CommandKind.LOCK
        assert mdm.devices.refresh(device.id).device_id == device.id
        with raises(mdmbridge.UnsupportedOperation):
            mdm.devices.send_message(device.id, "Hej")  # not in v1.0: refused locally

        mdm.users.delete(user.id)
        mdm.groups.delete(group.id)
        with raises(mdmbridge.NotFound):
            mdm.groups.get(group.id)


def test_intune_errors_and_token_renewal() -> None:
    with cassette_client("errors_tokens") as (mdm, sim):
        users = list(mdm.users.list())
        with raises(mdmbridge.NotFound) as missing:
            mdm.devices.get("0b8e3c8e-9d1e-4a50-bb6c-2f1b8a1c5e77")
        assert missing.value.request_id and "ResourceNotFound" in str(missing.value)
        with raises(mdmbridge.Conflict) as duplicate:
            mdm.users.create(name="Dubblett", account=users[0].account)
        assert "Another object with the same value" in str(duplicate.value)
        with raises(mdmbridge.ValidationError):
            mdm.users.get("../groups")  # refused locally: nothing is sent

        if sim is not None:
            sim.tokens.expire_all()  # the next call gets a 401, renews once, and repeats
        assert [u.id for u in mdm.users.list()] == [u.id for u in users]
        if sim is not None:
            assert sim.tokens.issued == 2


def test_the_cassettes_hold_the_scrubbed_forms() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in _cassettes()}
    assert set(texts) >= {"inventory.yaml", "writes_commands.yaml", "errors_tokens.yaml"}
    every = "\n".join(texts.values())
    assert "client_secret=CLIENT_SECRET" in every
    assert '"access_token":"ACCESS_TOKEN"' in every
    assert re.search(r'"password\\?": \\?"PASSWORD\\?"', every)  # YAML may escape quotes
    assert "http://intune.sim/v1.0/deviceManagement/managedDevices?" in every  # a next link
    assert INTUNE_SECRET not in every and "127.0.0.1" not in every
    assert texts["errors_tokens.yaml"].count("oauth2/v2.0/token") == 2  # the renewal


def _cassettes() -> list[Path]:
    return sorted(cassettes.cassette_dir(VENDOR).glob("*.yaml"))


def test_the_hooks_scrub_a_token_exchange_and_canonicalise_links(tmp_path: Path) -> None:
    """Through vcrpy itself, on hand-built interactions: a token request carrying the
    secret and a loopback scope, its answer's token, and a page whose next link points at
    the simulator's port. On disk: none of it; on replay: the live forms still match."""
    from vcr.request import Request

    origin = "http://127.0.0.1:50123"
    form = (
        f"grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret="
        f"{urllib.parse.quote_plus(INTUNE_SECRET)}&scope={urllib.parse.quote_plus(origin)}%2F.default"
    )
    token_request = Request(
        "POST",
        f"{origin}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token",
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "client-request-id": "r-1"},
    )
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.c2ltdWxhdGVkLXRva2Vu.c2lnbmF0dXJl"
    answer = f'{{"token_type":"Bearer","expires_in":3599,"access_token":"{token}"}}'.encode()
    page = f'{{"value":[],"@odata.nextLink":"{origin}/v1.0/users?$skiptoken=abc"}}'.encode()

    def response(body: bytes) -> dict[str, Any]:
        return {
            "status": {"code": 200, "message": "OK"},
            "headers": {
                "Content-Type": ["application/json"],
                "Content-Length": [str(len(body))],
                "request-id": ["0f1e2d3c"],
            },
            "body": {"string": body},
        }

    graph_request = Request(
        "GET", f"{origin}/v1.0/users", b"", {"Authorization": f"Bearer {token}"}
    )
    recorder = cassettes.vcr_for(VENDOR)
    with recorder.use_cassette(
        "hand_built.yaml", cassette_library_dir=str(tmp_path), record_mode="all"
    ) as cassette:
        cassette.append(token_request, response(answer))
        cassette.append(graph_request, response(page))
    saved = (tmp_path / "hand_built.yaml").read_text(encoding="utf-8")
    for secret in (INTUNE_SECRET, urllib.parse.quote_plus(INTUNE_SECRET), token, "127.0.0.1"):
        assert secret not in saved
    assert "client_secret=CLIENT_SECRET" in saved and "ACCESS_TOKEN" in saved
    assert "http://intune.sim/v1.0/users?$skiptoken=abc" in saved
    assert "request-id" not in saved and "client-request-id" not in saved
    with recorder.use_cassette(
        "hand_built.yaml", cassette_library_dir=str(tmp_path), record_mode="none"
    ) as replay:
        assert replay.can_play_response_for(token_request)  # the real secret, the real port
        played = replay.play_response(graph_request)
        body = played["body"]["string"]
        assert (
            body == b'{"value":[],"@odata.nextLink":"http://intune.sim/v1.0/users?$skiptoken=abc"}'
        )
        assert played["headers"]["Content-Length"] == [str(len(body))]
