"""A third vendor with zero core edits: ``tests/thirdparty/`` is an outside package
(``mdmbridge-acmemdm``: OAuth2 client credentials, cursor pages with next links, PATCH
updates, a JSON error envelope, its own simulator), installed the way pip would install
it: a package and its ``*.dist-info`` with the ``mdmbridge`` entry point, on ``sys.path``.

It passes the conformance kit found through its entry point, and works through the CLI
(export, resource commands) run as a subprocess with ``PYTHONPATH`` set.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import re
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mdmbridge
from mdmbridge import plugins
from mdmbridge.testing import ConformanceSuite, Kit, load_profile

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "tests" / "thirdparty"  # what pip would have put in site-packages
VENDOR = "acmemdm"
SECRET = "Acme-Canary-Secret-5521"  # distinctive: a leak check can look for it


@pytest.fixture(scope="module", autouse=True)
def acme_installed() -> Iterator[None]:
    """The outside package on sys.path, the entry-point scan on (tests/conftest.py turns
    it off for hermetic runs), the plugins loaded afresh; all undone afterwards."""
    patch = pytest.MonkeyPatch()
    patch.syspath_prepend(str(SITE))
    patch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    plugins.reset()
    try:
        yield
    finally:
        patch.undo()
        plugins.reset()
        for name in [n for n in sys.modules if n.partition(".")[0] == "mdmbridge_acmemdm"]:
            del sys.modules[name]


class TestAcmeConformance(ConformanceSuite):
    vendor = VENDOR  # the profile: mdmbridge_acmemdm.conformance.PROFILE


# --------------------------------------------------------------------------- installed


def test_found_through_its_entry_point_only() -> None:
    """Not registered at run time: pluggy loaded it from the dist-info's entry point."""
    assert VENDOR in mdmbridge.adapters()
    assert plugins.plugin_manager().get_plugin(VENDOR).__name__ == "mdmbridge_acmemdm"
    (entry,) = importlib.metadata.distribution("mdmbridge-acmemdm").entry_points
    assert (entry.group, entry.name, entry.value) == ("mdmbridge", VENDOR, "mdmbridge_acmemdm")
    assert plugins.portable_plugins() == ([], [])  # nothing registered at run time


def test_the_dist_info_says_what_its_pyproject_declares() -> None:
    declared = tomllib.loads((SITE / "pyproject.toml").read_text(encoding="utf-8"))
    dist = importlib.metadata.distribution("mdmbridge-acmemdm")
    assert declared["project"]["entry-points"]["mdmbridge"] == {
        e.name: e.value for e in dist.entry_points if e.group == "mdmbridge"
    }
    assert (dist.metadata["Name"], dist.version) == (
        declared["project"]["name"],
        declared["project"]["version"],
    )


def test_hidden_when_autoload_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    plugins.reset()
    try:
        assert VENDOR not in mdmbridge.adapters()
    finally:
        monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV)
        plugins.reset()
    assert VENDOR in mdmbridge.adapters()


def test_core_knows_nothing_of_it() -> None:
    """Zero core edits: no module of mdmbridge names the vendor or its package."""
    for path in (ROOT / "mdmbridge").rglob("*.py"):
        text = path.read_text(encoding="utf-8").lower()
        assert "acmemdm" not in text, path


# --------------------------------------------------------------------------- its own rules


@pytest.fixture
def kit() -> Iterator[Kit]:
    with Kit(load_profile(VENDOR), credentials={"client_secret": SECRET}) as kit:
        yield kit


def test_token_is_fetched_once_and_renewed_once_after_a_401(kit: Kit) -> None:
    mdm = kit.connect()
    assert kit.count() == 0  # connect() is offline: no token yet
    list(mdm.groups.list())
    list(mdm.users.list())
    assert kit.count("POST") == 1  # one token for both listings
    kit.server.app.revoke_tokens()
    assert list(mdm.devices.list())
    assert kit.count("POST") == 2  # the 401 fetched a new token, and the read went through
    assert len(kit.server.app.tokens) == 2


def test_cursor_pages_follow_the_next_links(kit: Kit) -> None:
    mdm = kit.connect(page_size=5)
    kit.reset_counts()
    devices = list(mdm.devices.list())
    assert len(devices) == kit.profile.devices == 12
    assert kit.count("GET") == 3  # 5 + 5 + 2
    paths = [entry.path for entry in kit.server.log if entry.method == "GET"]
    assert paths == ["/v1/devices"] * 3  # page 2 and 3 from the links' cursors


def test_a_next_link_to_another_origin_is_not_followed(kit: Kit) -> None:
    original = kit.server.app.handle

    def elsewhere(request: Any) -> Any:
        answer = original(request)
        if request.path == "/v1/devices" and answer.body:
            body = json.loads(answer.body)
            if body.get("next"):
                body["next"] = "http://127.0.0.2:9/v1/devices?cursor=NQ=="
                answer.body = json.dumps(body).encode()
        return answer

    kit.server.app.handle = elsewhere  # type: ignore[method-assign]
    with pytest.raises(mdmbridge.MDMError, match="not the tenant's origin"):
        list(kit.connect(page_size=5).devices.list())


def test_the_error_envelope_picks_the_class_and_keeps_the_request_id(kit: Kit) -> None:
    mdm = kit.connect()
    group = next(iter(mdm.groups.list()))  # seeded groups have users
    with pytest.raises(mdmbridge.Conflict, match="still has users") as caught:
        mdm.groups.delete(group.id)
    assert caught.value.status == 409 and (caught.value.request_id or "").startswith("req_")
    with pytest.raises(mdmbridge.NotFound, match="no group grp_000000000000"):
        mdm.users.create(name="Åsa", group_id="grp_000000000000")
    from mdmbridge_acmemdm.adapter import AcmeRules

    said = AcmeRules().parse_error(400, {"error": {"code": "not_found", "message": "gone"}}, "")
    assert said is not None and (said.status, said.message) == (404, "gone")  # code over status


def test_patch_sends_only_the_changes_and_null_clears(kit: Kit) -> None:
    mdm = kit.connect()
    user = mdm.users.create(name="Åsa Öberg", email="asa@example.se", department="IT")
    kit.reset_counts()
    changed = mdm.users.update(user.id, department=None)
    assert (changed.department, changed.email, changed.name) == (
        None,
        "asa@example.se",
        "Åsa Öberg",
    )
    assert kit.count("PATCH") == 1 and kit.count() == 1


def test_a_bad_secret_is_an_auth_error_naming_the_token_endpoints_code(kit: Kit) -> None:
    with pytest.raises(mdmbridge.AuthError, match="invalid_client") as caught:
        list(kit.connect(client_secret="not-the-secret").devices.list())
    assert "not-the-secret" not in f"{caught.value}{caught.value!r}"


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli(kit: Kit, tmp_path: Path) -> Any:
    """``mdmbridge --config <tenants file> ...`` in a subprocess that finds the adapter
    through PYTHONPATH and its entry point, like any installed plugin."""
    settings = {k: v for k, v in kit.running.settings.items() if k != "client_secret"}
    lines = ['[tenants."acme-1"]', f'vendor = "{VENDOR}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    lines += ['client_secret = "env:ACME_SECRET"', "retries = 1", "page_size = 5", ""]
    config = tmp_path / "tenants.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != plugins.DISABLE_AUTOLOAD_ENV}
    env |= {"ACME_SECRET": SECRET, "PYTHONPATH": str(SITE)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "import sys, mdmbridge.cli as c; sys.exit(c.main())"]
        done = subprocess.run(
            [*command, "--config", str(config), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert SECRET not in done.stdout + done.stderr
        return done

    return run


def test_cli_resource_commands(cli: Any, kit: Kit) -> None:
    devices = cli("devices", "list", "acme-1", "--format", "json")
    assert devices.returncode == 0, devices.stderr
    assert len(json.loads(devices.stdout)) == 12
    user = next(iter(kit.connect().users.list()))
    users = cli("users", "list", "acme-1", "--email", user.email or "", "--format", "json")
    assert users.returncode == 0, users.stderr
    assert [u["id"] for u in json.loads(users.stdout)] == [user.id]

    created = cli("groups", "create", "acme-1", "--name", "Göteborg Fält", "--format", "json")
    assert created.returncode == 0, created.stderr
    (group,) = json.loads(created.stdout)
    assert group["name"] == "Göteborg Fält" and group["vendor"] == VENDOR
    updated = cli(
        "groups", "update", "acme-1", group["id"], "--notes", "Hamnen", "--format", "json"
    )
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout)[0]["notes"] == "Hamnen"
    deleted = cli("groups", "delete", "acme-1", group["id"], "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert group["id"] not in kit.server.app.records["groups"]

    missing = cli("groups", "get", "acme-1", "grp_000000000000")
    assert missing.returncode == 1 and "not_found" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and "no group" in missing.stderr


@pytest.mark.parametrize("fmt", ["csv", "sqlite"])
def test_cli_export(cli: Any, kit: Kit, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / ("csv" if fmt == "csv" else "inventory.sqlite")
    done = cli("export", "--format", fmt, "-o", str(out))
    assert done.returncode == 0, done.stderr
    counts = {kind: len(records) for kind, records in kit.server.app.records.items()}
    if fmt == "csv":
        for kind, count in counts.items():
            with (out / f"{kind}.csv").open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
            assert len(rows) == count and {r["vendor"] for r in rows} == {VENDOR}
            assert {r["tenant"] for r in rows} == {"acme-1"}
    else:
        with sqlite3.connect(out) as db:
            for kind, count in counts.items():
                assert db.execute(f"select count(*) from {kind}").fetchone() == (count,)
            serials = {row[0] for row in db.execute("select serial_number from devices")}
        assert serials == {d["serialNumber"] for d in kit.server.app.records["devices"].values()}


# --------------------------------------------------------------------------- the guide

GUIDE = ROOT / "docs" / "writing-an-adapter.md"
BLOCK = re.compile(r"(?:<!-- from: (?P<path>\S+) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)\n```", re.S)


def test_the_guide_quotes_this_package_verbatim() -> None:
    """Every Python and TOML block of docs/writing-an-adapter.md is a verbatim excerpt of
    the file its ``<!-- from: ... -->`` line names, so the guide shows code that runs."""
    text = GUIDE.read_text(encoding="utf-8")
    quoted = [b for b in BLOCK.finditer(text) if b["lang"] in ("python", "toml")]
    assert len(quoted) >= 10
    for block in quoted:
        assert block["path"], f"a {block['lang']} block names no file: {block['code'][:60]!r}"
        source = (ROOT / block["path"]).read_text(encoding="utf-8")
        assert block["code"] in source, (
            f"docs/writing-an-adapter.md no longer matches {block['path']}: {block['code'][:80]!r}"
        )
    named = {block["path"] for block in quoted}
    assert {
        "tests/thirdparty/pyproject.toml",
        "tests/thirdparty/mdmbridge_acmemdm/__init__.py",
    } <= named
    assert "error_message" not in text and "error_parser" not in text
