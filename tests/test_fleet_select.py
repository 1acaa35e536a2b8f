"""Tenant selection (names, @labels, globs) and lazy, per-tenant secrets: config.select_tenants,
mdmbridge.tenants(), and the multi-tenant commands against live simulators."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

import mdmbridge
from mdmbridge.config import CONFIG_ENV, Tenant, Tenants, load_tenants, select_tenants
from mdmbridge.errors import ConfigError
from mdmbridge.simulation import SimServer
from tests.support import DUO_PASSWORD, EZ_KEY, raises
from tests.test_cli import (
    Factory,
    assert_no_secrets,
    assert_one_line_error,
    duo_tenant,
    ez_tenant,
    run,
    write_config,
)

FILE = """
[tenants.acme-duo]
vendor = "duostation"
labels = ["eu", "schools"]
base_url = "https://mdm.acme.example"
username = "api"
password = "env:ACME_DUO_PASSWORD"

[tenants.acme-ez]
vendor = "ezmdm"
labels = ["eu"]
api_key = "env:ACME_EZ_KEY"

[tenants.nordic-duo]
vendor = "duostation"
labels = ["nordic", "schools"]
base_url = "https://mdm.nordic.example"
username = "api"
password = "keyring:mdmbridge/nordic-duo"

[tenants.beta]
vendor = "ezmdm"
api_key = "{key}"
"""


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("ACME_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("ACME_EZ_KEY", EZ_KEY)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.toml"
    path.write_text(FILE.format(key=EZ_KEY), encoding="utf-8")
    return path


@pytest.fixture
def tenants(config: Path) -> dict[str, Tenant]:
    return load_tenants(config)


def names(chosen: list[Tenant]) -> list[str]:
    return [t.name for t in chosen]


# ---------------------------------------------------------------------------- select_tenants


def test_no_pattern_is_every_tenant_in_file_order(tenants: dict[str, Tenant]) -> None:
    everyone = ["acme-duo", "acme-ez", "nordic-duo", "beta"]
    assert names(select_tenants(tenants, None)) == everyone
    assert names(select_tenants(tenants, [])) == everyone
    assert names(select_tenants(tenants, ())) == everyone


def test_by_name_label_and_glob(tenants: dict[str, Tenant]) -> None:
    assert names(select_tenants(tenants, ["acme-ez"])) == ["acme-ez"]
    assert names(select_tenants(tenants, ["@eu"])) == ["acme-duo", "acme-ez"]
    assert names(select_tenants(tenants, ["@schools"])) == ["acme-duo", "nordic-duo"]
    assert names(select_tenants(tenants, ["acme-*"])) == ["acme-duo", "acme-ez"]
    assert names(select_tenants(tenants, ["*-duo"])) == ["acme-duo", "nordic-duo"]
    assert names(select_tenants(tenants, ["?eta"])) == ["beta"]
    assert names(select_tenants(tenants, ["acme-[de]*"])) == ["acme-duo", "acme-ez"]
    assert names(select_tenants(tenants, ["@s*"])) == ["acme-duo", "nordic-duo"]  # label globs


def test_order_of_patterns_each_tenant_once(tenants: dict[str, Tenant]) -> None:
    chosen = select_tenants(tenants, ["beta", "@schools", "acme-*", " acme-ez "])
    assert names(chosen) == ["beta", "acme-duo", "nordic-duo", "acme-ez"]
    assert all(isinstance(t, Tenant) for t in chosen)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("nope", ["unknown tenant 'nope'", "acme-duo, acme-ez, nordic-duo, beta"]),
        ("ACME-DUO", ["unknown tenant 'ACME-DUO'"]),  # names are exact
        ("@apac", ["unknown label '@apac'", "@eu, @nordic, @schools", "acme-duo"]),
        ("zeta-*", ["no tenant matches 'zeta-*'", "acme-duo, acme-ez, nordic-duo, beta"]),
        ("", ["empty tenant selection", "acme-duo"]),
    ],
)
def test_unknown_is_one_config_error_listing_what_exists(
    tenants: dict[str, Tenant], pattern: str, words: list[str]
) -> None:
    with raises(ConfigError) as info:
        select_tenants(tenants, ["acme-ez", pattern])
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_selection_resolves_nothing(
    tenants: dict[str, Tenant], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_DUO_PASSWORD")
    chosen = select_tenants(tenants, ["@eu", "@schools"])
    assert names(chosen) == ["acme-duo", "acme-ez", "nordic-duo"]
    assert not any(t.resolved for t in chosen)


# ---------------------------------------------------------------------------- labels


def test_labels_are_read_and_shown(tenants: dict[str, Tenant]) -> None:
    assert tenants["acme-duo"].labels == ("eu", "schools")
    assert tenants["beta"].labels == ()
    shown = tenants["acme-duo"].describe()
    assert shown["labels"] == ["eu", "schools"] and shown["password"] == "(secret)"
    assert "labels" not in tenants["beta"].describe()
    assert "labels" not in type(tenants["acme-duo"].settings).model_fields  # not a setting


@pytest.mark.parametrize(
    "labels", ['"eu"', "[1, 2]", '["has space"]', '["-dash"]', '["' + "x" * 65 + '"]']
)
def test_bad_labels_are_a_file_error(tmp_path: Path, labels: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(f'[tenants.a]\nvendor = "ezmdm"\napi_key = "{EZ_KEY}"\nlabels = {labels}\n')
    with raises(ConfigError) as info:
        load_tenants(path)
    message = str(info.value)
    assert "'a'" in message and "labels" in message and str(path) in message


# ---------------------------------------------------------------------------- lazy secrets


def test_file_problems_are_still_found_at_load_next_to_references(tmp_path: Path) -> None:
    """A reference is set aside while the rest is checked: every other key still is."""
    cases = {
        "retrys = 2\n": "retrys: unknown setting",
        'retries = "many"\n': "retries",
        "connect_timeout_s = -1\n": "connect_timeout_s",
        'password2 = "env:X"\n': "password2: unknown setting",
    }
    for extra, expected in cases.items():
        path = tmp_path / "t.toml"
        path.write_text(
            '[tenants.d]\nvendor = "duostation"\nbase_url = "https://x.example"\n'
            f'username = "api"\npassword = "env:UNSET_CANARY_VAR"\n{extra}'
        )
        with raises(ConfigError) as info:
            load_tenants(path)
        assert expected in str(info.value) and "'d'" in str(info.value)


def test_a_tenant_without_references_is_resolved_at_load(tenants: dict[str, Tenant]) -> None:
    assert tenants["beta"].resolved
    assert not tenants["acme-duo"].resolved and not tenants["acme-ez"].resolved


def test_settings_resolve_on_first_use_once(
    tenants: dict[str, Tenant], monkeypatch: pytest.MonkeyPatch
) -> None:
    duo = tenants["acme-duo"]
    assert duo.settings.password.get_secret_value() == DUO_PASSWORD
    assert duo.resolved
    monkeypatch.setenv("ACME_DUO_PASSWORD", "Changed-Later-1")
    assert duo.settings.password.get_secret_value() == DUO_PASSWORD  # resolved once


def test_a_resolved_value_is_validated_without_echo(
    tenants: dict[str, Tenant], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = "EZCANARY with spaces!"
    monkeypatch.setenv("ACME_EZ_KEY", bad)
    with raises(ConfigError) as info:
        tenants["acme-ez"].connect()
    message = str(info.value)
    assert "'acme-ez'" in message and "api_key" in message and bad not in message
    assert info.value.tenant == "acme-ez"


def test_a_referenced_plain_setting_is_shown_as_its_reference(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[tenants.d]\nvendor = "duostation"\nbase_url = "env:DUO_URL_CANARY"\n'
        'username = "api"\npassword = "plain-pw-1234"\nread_timeout_s = 9\n'
    )
    tenant = load_tenants(path)["d"]
    shown = tenant.describe()
    assert shown["base_url"] == "env:DUO_URL_CANARY" and shown["password"] == "(secret)"
    assert shown["username"] == "api" and shown["read_timeout_s"] == 9


def test_unresolved_tenants_pickle_as_references(
    tenants: dict[str, Tenant], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes get the tenant as it is; an unresolved one resolves there."""
    copy = pickle.loads(pickle.dumps(tenants["acme-ez"]))
    assert copy == tenants["acme-ez"] and not copy.resolved
    assert copy.settings.api_key.get_secret_value() == EZ_KEY
    resolved = pickle.loads(pickle.dumps(copy))
    assert resolved.resolved and resolved.settings == copy.settings
    assert resolved == tenants["acme-ez"]  # the same tenant, resolved or not
    assert EZ_KEY not in repr(copy)


def test_a_tenant_is_read_only(tenants: dict[str, Tenant]) -> None:
    with pytest.raises(AttributeError):
        tenants["beta"].name = "other"  # type: ignore[misc]


# ---------------------------------------------------------------------------- mdmbridge.tenants()


def test_tenants_function_reads_the_cli_file(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = mdmbridge.tenants(config)
    assert isinstance(found, Tenants) and list(found) == [
        "acme-duo",
        "acme-ez",
        "nordic-duo",
        "beta",
    ]
    assert found["acme-ez"].vendor == "ezmdm" and len(found) == 4
    assert names(found.select("@eu")) == ["acme-duo", "acme-ez"]
    assert names(found.select()) == list(found)
    with pytest.raises(KeyError, match=r"unknown tenant 'nope'.*acme-duo"):
        found["nope"]
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert list(mdmbridge.tenants()) == list(found)  # the CLI's lookup: $MDMBRIDGE_CONFIG
    assert mdmbridge.select_tenants is select_tenants


def test_tenants_function_connects(
    ez_sim: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ez = ez_sim(devices=3, seed=2)
    config = write_config(tmp_path / "t.toml", {"acme-ez": ez_tenant(ez)})
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    with mdmbridge.tenants(config)["acme-ez"].connect(read_only=True) as client:
        assert len(list(client.devices.list())) == 3
        assert client.tenant == "acme-ez"


def test_tenants_function_missing_file(tmp_path: Path) -> None:
    with raises(ConfigError, match="no tenants file"):
        mdmbridge.tenants(tmp_path / "none.toml")


# ---------------------------------------------------------------------------- the CLI


@pytest.fixture
def fleet(
    duo_sim: Factory, ez_sim: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, SimServer], Path]]:
    """Three tenants on three simulators, labelled; their secrets in env variables."""
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)
    servers = {
        "acme-duo": duo_sim(devices=6, seed=3),
        "acme-ez": ez_sim(devices=5, seed=4),
        "nordic-duo": duo_sim(devices=4, seed=5),
    }
    config = write_config(
        tmp_path / "tenants.toml",
        {
            "acme-duo": duo_tenant(servers["acme-duo"], labels=["eu", "schools"]),
            "acme-ez": ez_tenant(servers["acme-ez"], labels=["eu"]),
            "nordic-duo": duo_tenant(
                servers["nordic-duo"], labels=["nordic"], password="env:NORDIC_PW"
            ),
        },
    )
    monkeypatch.setenv("NORDIC_PW", DUO_PASSWORD)
    yield servers, config


def checked(
    capsys: pytest.CaptureFixture[str], config: Path, *selection: str
) -> dict[str, dict[str, str]]:
    args = [arg for pattern in selection for arg in ("-t", pattern)]
    code, out, err = run(capsys, "--config", str(config), "check", *args, "--format", "json")
    assert code == 0, err
    return {row["tenant"]: row for row in json.loads(out)}


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ((), ["acme-duo", "acme-ez", "nordic-duo"]),
        (("acme-ez",), ["acme-ez"]),
        (("@eu",), ["acme-duo", "acme-ez"]),
        (("*-duo",), ["acme-duo", "nordic-duo"]),
        (("@nordic", "acme-e?"), ["nordic-duo", "acme-ez"]),
    ],
)
def test_check_selects_by_name_label_and_glob(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[dict[str, SimServer], Path],
    selection: tuple[str, ...],
    expected: list[str],
) -> None:
    servers, config = fleet
    rows = checked(capsys, config, *selection)
    assert list(rows) == expected  # in the order chosen
    for name, server in servers.items():
        assert (server.count() > 0) is (name in expected), name  # the others untouched


def test_tenants_lists_the_selection_with_labels(
    capsys: pytest.CaptureFixture[str], fleet: tuple[dict[str, SimServer], Path]
) -> None:
    servers, config = fleet
    code, out, err = run(
        capsys, "--config", str(config), "tenants", "-t", "@eu", "--format", "json"
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [r["tenant"] for r in rows] == ["acme-duo", "acme-ez"]
    assert rows[0]["labels"] == ["eu", "schools"] and rows[0]["password"] == "(secret)"
    assert all(s.count() == 0 for s in servers.values())


@pytest.mark.parametrize("command", ["check", "tenants", "export"])
@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("nope", ["'nope'", "acme-duo, acme-ez, nordic-duo"]),
        ("@apac", ["'@apac'", "@eu, @nordic, @schools"]),
        ("x-*", ["'x-*'", "acme-duo, acme-ez, nordic-duo"]),
    ],
)
def test_unknown_selection_exits_2_listing_what_exists(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[dict[str, SimServer], Path],
    tmp_path: Path,
    command: str,
    pattern: str,
    words: list[str],
) -> None:
    servers, config = fleet
    args = ["--config", str(config), command, "-t", "acme-ez", "-t", pattern]
    if command == "export":
        args += ["--format", "jsonl", "-o", str(tmp_path / "out.jsonl")]
    code, out, err = run(capsys, *args)
    assert code == 2, (out, err)
    line = assert_one_line_error(err)
    for word in words:
        assert word in line, line
    assert all(s.count() == 0 for s in servers.values())
    assert not (tmp_path / "out.jsonl").exists()


def test_unset_env_var_fails_one_tenant_only(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[dict[str, SimServer], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    servers, config = fleet
    monkeypatch.delenv("NORDIC_PW")

    code, out, err = run(capsys, "--config", str(config), "check", "--format", "json")
    assert code == 1, (out, err)  # one tenant failed, the others were checked
    rows = {row["tenant"]: row for row in json.loads(out)}
    assert rows["acme-duo"]["status"].startswith("ok") and rows["acme-ez"]["status"].startswith(
        "ok"
    )
    assert rows["nordic-duo"]["status"] == "misconfigured"
    detail = rows["nordic-duo"]["detail"]
    assert "'nordic-duo'" in detail and "password" in detail and "NORDIC_PW" in detail
    assert "not set" in detail and str(config) in detail
    assert servers["nordic-duo"].count() == 0  # never reached: nothing to send
    assert_no_secrets(out, err)

    # Not selected: it is not even looked at.
    assert set(checked(capsys, config, "acme-*")) == {"acme-duo", "acme-ez"}

    # The listing needs no secret.
    code, out, err = run(capsys, "--config", str(config), "tenants", "--format", "json")
    assert code == 0, err
    assert [r["tenant"] for r in json.loads(out)] == ["acme-duo", "acme-ez", "nordic-duo"]

    # Only the failing tenant: a failure of that tenant (1), not a usage error (2).
    code, out, err = run(
        capsys, "--config", str(config), "check", "-t", "@nordic", "--format", "json"
    )
    assert code == 1, (out, err)
    assert [r["status"] for r in json.loads(out)] == ["misconfigured"]

    # export: the others are exported, the failed one reported, exit 1.
    output = tmp_path / "inventory.jsonl"
    code, out, err = run(
        capsys, "--config", str(config), "export", "--format", "jsonl", "-o", str(output)
    )
    assert code == 1, (out, err)
    exported = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    devices = [r for r in exported if r["entity"] == "devices"]
    assert {r["tenant"] for r in exported} == {"acme-duo", "acme-ez"}
    assert len(devices) == 6 + 5
    assert "FAILED nordic-duo" in err and "NORDIC_PW" in err
    assert_no_secrets(out, err, output.read_text(encoding="utf-8"))


def test_missing_keyring_entry_fails_one_tenant_only(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[dict[str, SimServer], Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import sys
    import types

    servers, _ = fleet
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, name: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    config = write_config(
        tmp_path / "keyring.toml",
        {
            "acme-ez": ez_tenant(servers["acme-ez"]),
            "vault-duo": duo_tenant(servers["acme-duo"], password="keyring:mdmbridge/vault-duo"),
        },
    )
    code, out, err = run(capsys, "--config", str(config), "check", "--format", "json")
    assert code == 1, (out, err)
    rows = {row["tenant"]: row for row in json.loads(out)}
    assert rows["acme-ez"]["status"].startswith("ok")
    assert rows["vault-duo"]["status"] == "misconfigured"
    assert "no keyring entry" in rows["vault-duo"]["detail"]
    assert servers["acme-duo"].count() == 0
    assert_no_secrets(out, err)


def test_plain_tenant_name_still_works_for_single_tenant_commands(
    capsys: pytest.CaptureFixture[str], fleet: tuple[dict[str, SimServer], Path]
) -> None:
    """Resource commands take one exact name: a glob is not a tenant there."""
    _, config = fleet
    code, out, err = run(
        capsys, "--config", str(config), "devices", "list", "acme-ez", "--format", "json"
    )
    assert code == 0, err
    assert len(json.loads(out)) == 5
    code, _, err = run(capsys, "--config", str(config), "devices", "list", "acme-*")
    assert code == 2 and "unknown tenant 'acme-*'" in err


def test_unset_secret_for_a_single_tenant_command_is_exit_2(
    capsys: pytest.CaptureFixture[str],
    fleet: tuple[dict[str, SimServer], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    servers, config = fleet
    monkeypatch.delenv("NORDIC_PW")
    code, out, err = run(capsys, "--config", str(config), "devices", "list", "nordic-duo")
    assert code == 2, (out, err)
    line = assert_one_line_error(err)
    assert "NORDIC_PW" in line and "'nordic-duo'" in line
    assert servers["nordic-duo"].count() == 0
    code, _, err = run(capsys, "--config", str(config), "devices", "list", "acme-ez")
    assert code == 0, err
