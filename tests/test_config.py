"""The tenants file: loading, validation messages, secret references, lookup order."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import platformdirs
import pytest

from mdmbridge.config import (
    CONFIG_ENV,
    Tenant,
    default_config_path,
    find_config,
    load_tenants,
    select,
)
from mdmbridge.errors import ConfigError
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY, raises

GOOD = """
[tenants.acme-duo]
vendor = "duostation"
base_url = "https://mdm.acme.example/api"
username = "{user}"
password = "env:ACME_DUO_PASSWORD"
read_timeout_s = 120

[tenants.acme-ez]
vendor = "ezmdm"
api_key = "env:ACME_EZ_KEY"
page_size = 50
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("ACME_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("ACME_EZ_KEY", EZ_KEY)


def write(tmp_path: Path, text: str, name: str = "tenants.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    """Load ``path`` expecting one ConfigError; return its message after the common checks."""
    with raises(ConfigError) as info:
        load_tenants(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    for secret in (DUO_PASSWORD, EZ_KEY):
        assert secret not in message and secret not in repr(info.value)
    return message


DUO_BASE = """
[tenants.acme-duo]
vendor = "duostation"
base_url = "https://mdm.acme.example"
username = "api"
"""


# ---------------------------------------------------------------------------- good file


def test_good_file_loads_both_vendors_with_env_secrets(tmp_path: Path) -> None:
    tenants = load_tenants(write(tmp_path, GOOD.format(user=DUO_USER)))

    assert list(tenants) == ["acme-duo", "acme-ez"]
    duo, ez = tenants["acme-duo"], tenants["acme-ez"]
    assert (duo.name, duo.vendor) == ("acme-duo", "duostation")
    assert (ez.name, ez.vendor) == ("acme-ez", "ezmdm")
    assert duo.settings.password.get_secret_value() == DUO_PASSWORD
    assert duo.settings.username == DUO_USER
    assert duo.settings.base_url == "https://mdm.acme.example"  # trailing /api accepted
    assert duo.settings.read_timeout_s == 120
    assert ez.settings.api_key.get_secret_value() == EZ_KEY
    assert ez.settings.page_size == 50


def test_describe_and_repr_hide_secrets(tmp_path: Path) -> None:
    tenants = load_tenants(write(tmp_path, GOOD.format(user=DUO_USER)))
    duo, ez = tenants["acme-duo"].describe(), tenants["acme-ez"].describe()

    assert duo["tenant"] == "acme-duo" and duo["vendor"] == "duostation"
    assert duo["password"] == "(secret)" and duo["username"] == DUO_USER
    assert ez["api_key"] == "(secret)" and "base_url" in ez
    for tenant in tenants.values():
        shown = f"{tenant.describe()} {tenant!r} {tenant.settings!r} {tenant.settings}"
        assert DUO_PASSWORD not in shown and EZ_KEY not in shown


def test_plain_secrets_are_accepted_and_still_hidden(tmp_path: Path) -> None:
    text = DUO_BASE + f'password = "{DUO_PASSWORD}"\n'
    tenant = load_tenants(write(tmp_path, text))["acme-duo"]
    assert tenant.settings.password.get_secret_value() == DUO_PASSWORD
    assert DUO_PASSWORD not in str(tenant.describe())


# ---------------------------------------------------------------------------- bad files


def test_unknown_vendor(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[tenants.acme]\nvendor = "jamf"\n'))
    assert "'acme'" in message and "vendor" in message and "jamf" in message
    assert "duostation" in message and "ezmdm" in message  # says what is installed


def test_missing_vendor(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[tenants.acme]\nbase_url = "https://x.example"\n'))
    assert "'acme'" in message and "vendor" in message and "missing" in message


def test_missing_required_key(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, DUO_BASE))
    assert "'acme-duo'" in message and "password" in message


def test_unknown_key_typo_never_echoes_its_value(tmp_path: Path) -> None:
    text = DUO_BASE + f'password = "{DUO_PASSWORD}"\npasword = "{DUO_PASSWORD}"\n'
    message = config_error(write(tmp_path, text))
    assert "'acme-duo'" in message and "pasword" in message and "unknown" in message


def test_wrong_type(tmp_path: Path) -> None:
    text = f'[tenants.acme-ez]\nvendor = "ezmdm"\napi_key = "{EZ_KEY}"\nretries = "many"\n'
    message = config_error(write(tmp_path, text))
    assert "'acme-ez'" in message and "retries" in message
    assert "many" not in message  # inputs are never echoed


def test_badly_shaped_secret_is_not_echoed(tmp_path: Path) -> None:
    bad_key = "EZCANARY with spaces!"
    text = f'[tenants.acme-ez]\nvendor = "ezmdm"\napi_key = "{bad_key}"\n'
    message = config_error(write(tmp_path, text))
    assert "'acme-ez'" in message and "api_key" in message
    assert bad_key not in message


def secret_error(tenant: Tenant, path: Path) -> str:
    """A secret reference resolved lazily: ``tenant.settings`` (and ``connect()``) raise one
    ConfigError naming the file and the tenant; return its message after the checks."""
    with raises(ConfigError) as info:
        tenant.settings  # noqa: B018 - resolving is the point
    with raises(ConfigError):
        tenant.connect()
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    assert info.value.tenant == tenant.name and info.value.vendor == tenant.vendor
    for secret in (DUO_PASSWORD, EZ_KEY):
        assert secret not in message and secret not in repr(info.value)
    return message


def test_unset_env_var_fails_that_tenant_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_EZ_KEY")
    path = write(tmp_path, GOOD.format(user=DUO_USER))
    tenants = load_tenants(path)  # the file is fine: nothing is resolved yet
    assert tenants["acme-duo"].settings.password.get_secret_value() == DUO_PASSWORD
    message = secret_error(tenants["acme-ez"], path)
    assert "'acme-ez'" in message and "api_key" in message and "ACME_EZ_KEY" in message
    assert "not set" in message
    assert tenants["acme-ez"].describe()["api_key"] == "(secret)"  # shown without resolving
    monkeypatch.setenv("ACME_EZ_KEY", EZ_KEY)  # a failure is not remembered: set it, it works
    assert tenants["acme-ez"].settings.api_key.get_secret_value() == EZ_KEY


def test_empty_env_var_counts_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_DUO_PASSWORD", "")
    path = write(tmp_path, GOOD.format(user=DUO_USER))
    message = secret_error(load_tenants(path)["acme-duo"], path)
    assert "'acme-duo'" in message and "password" in message and "ACME_DUO_PASSWORD" in message


def test_env_reference_without_a_name(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, DUO_BASE + 'password = "env:"\n'))
    assert "'acme-duo'" in message and "password" in message and "env:" in message


def test_keyring_reference_without_keyring_or_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, DUO_BASE + 'password = "keyring:mdmbridge/acme-duo"\n')
    try:
        import keyring  # noqa: F401
    except ImportError:
        message = secret_error(load_tenants(path)["acme-duo"], path)
        assert "'acme-duo'" in message and "password" in message
        assert "keyring package" in message

    # A keyring that has no such entry (a stand-in module, so no real keyring is touched).
    fake = types.ModuleType("keyring")
    asked: list[tuple[str, str]] = []

    def get_password(service: str, name: str) -> str | None:
        asked.append((service, name))
        return None

    fake.get_password = get_password  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    tenant = load_tenants(path)["acme-duo"]
    tenant.describe()
    assert asked == []  # loading and describing ask the keyring nothing
    message = secret_error(tenant, path)
    assert asked[0] == ("mdmbridge", "acme-duo")
    assert "'acme-duo'" in message and "password" in message and "no keyring entry" in message

    # ... and one that has it: asked once, however often the settings are used.
    asked.clear()

    def found(service: str, name: str) -> str:
        asked.append((service, name))
        return DUO_PASSWORD

    fake.get_password = found  # type: ignore[attr-defined]
    tenant = load_tenants(path)["acme-duo"]
    assert tenant.settings.password.get_secret_value() == DUO_PASSWORD
    assert tenant.settings.password.get_secret_value() == DUO_PASSWORD
    assert asked == [("mdmbridge", "acme-duo")]


def test_keyring_reference_needs_service_and_name(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, DUO_BASE + 'password = "keyring:only-service"\n'))
    assert "'acme-duo'" in message and "password" in message and "keyring:" in message


def test_invalid_toml_gives_the_line(tmp_path: Path) -> None:
    text = f'[tenants.acme-ez]\nvendor = "ezmdm"\napi_key = "{EZ_KEY}\n'
    message = config_error(write(tmp_path, text))
    assert "TOML" in message and "line 3" in message


@pytest.mark.parametrize("text", ["", "[other]\nkey = 1\n", "tenants = 3\n", "[tenants]\n"])
def test_no_tenants_table(tmp_path: Path, text: str) -> None:
    message = config_error(write(tmp_path, text))
    assert "tenants" in message


def test_tenant_that_is_not_a_table(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, "[tenants]\nacme = 3\n"))
    assert "'acme'" in message


@pytest.mark.parametrize("name", ["bad name", "-dash-first", "x" * 65, "å"])
def test_bad_tenant_name(tmp_path: Path, name: str) -> None:
    text = f'[tenants."{name}"]\nvendor = "ezmdm"\napi_key = "{EZ_KEY}"\n'
    message = config_error(write(tmp_path, text))
    assert repr(name) in message and "tenant name" in message


def test_second_tenant_problem_is_named(tmp_path: Path) -> None:
    text = GOOD.format(user=DUO_USER) + '\n[tenants.broken]\nvendor = "ezmdm"\n'
    message = config_error(write(tmp_path, text))
    assert "'broken'" in message and "api_key" in message


# ---------------------------------------------------------------------------- lookup


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_dir = tmp_path / "user-config"
    monkeypatch.setattr(platformdirs, "user_config_dir", lambda app, *a, **k: str(user_dir / app))
    default = user_dir / "mdmbridge" / "tenants.toml"
    assert default_config_path() == default

    # Nothing anywhere: one line saying where it looked.
    with raises(ConfigError) as info:
        find_config(None)
    assert str(default) in str(info.value) and "\n" not in str(info.value)

    default.parent.mkdir(parents=True)
    default.write_text(GOOD.format(user=DUO_USER), encoding="utf-8")
    assert find_config(None) == default

    from_env = write(tmp_path, GOOD.format(user=DUO_USER), "env.toml")
    monkeypatch.setenv(CONFIG_ENV, str(from_env))
    assert find_config(None) == from_env

    explicit = write(tmp_path, GOOD.format(user=DUO_USER), "explicit.toml")
    assert find_config(explicit) == explicit
    assert find_config(str(explicit)) == explicit


@pytest.mark.parametrize("origin", ["--config", CONFIG_ENV])
def test_missing_file_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, origin: str) -> None:
    missing = tmp_path / "nope.toml"
    if origin == CONFIG_ENV:
        monkeypatch.setenv(CONFIG_ENV, str(missing))
    with raises(ConfigError) as info:
        find_config(missing if origin == "--config" else None)
    message = str(info.value)
    assert str(missing) in message and origin in message and "\n" not in message


def test_env_points_at_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path))
    with raises(ConfigError):
        find_config(None)


# ---------------------------------------------------------------------------- select


def test_select(tmp_path: Path) -> None:
    tenants = load_tenants(write(tmp_path, GOOD.format(user=DUO_USER)))

    assert [t.name for t in select(tenants, None)] == ["acme-duo", "acme-ez"]
    assert [t.name for t in select(tenants, [])] == ["acme-duo", "acme-ez"]
    assert [t.name for t in select(tenants, ["acme-ez", "acme-duo", "acme-ez"])] == [
        "acme-ez",
        "acme-duo",
    ]
    assert all(isinstance(t, Tenant) for t in select(tenants, ["acme-ez"]))

    with raises(ConfigError) as info:
        select(tenants, ["acme-ez", "nope"])
    message = str(info.value)
    assert "'nope'" in message and "acme-duo" in message and "acme-ez" in message
