"""The tenants file: named tenants, each a vendor plus that adapter's settings.

    [tenants.acme-duo]
    vendor = "duostation"
    base_url = "https://mdm.acme.example"
    username = "api"
    password = "env:ACME_DUO_PASSWORD"     # or "keyring:mdmbridge/acme-duo"

Found via ``--config``, then ``MDMBRIDGE_CONFIG``, then ``tenants.toml`` in the user's
config directory. Every tenant is validated by its adapter's settings model when the file
is loaded, before any request, and a problem is one ``ConfigError`` line naming the file,
the tenant and the key. Secret values are never echoed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import pydantic

from mdmbridge.adapter import AdapterSettings
from mdmbridge.client import Client, open_client, settings_error
from mdmbridge.errors import ConfigError
from mdmbridge.plugins import registered_adapters

CONFIG_ENV = "MDMBRIDGE_CONFIG"
CONFIG_FILENAME = "tenants.toml"
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Tenant:
    """One configured tenant. ``settings`` is the adapter's validated settings model, whose
    secrets are ``SecretStr`` (their repr shows ``**********``)."""

    name: str
    vendor: str
    settings: AdapterSettings = field(repr=False)

    def connect(self, *, read_only: bool = False) -> Client:
        return open_client(self.vendor, self.settings, tenant=self.name, read_only=read_only)

    def describe(self) -> dict[str, Any]:
        """What the file set for this tenant, secrets replaced, for ``mdmbridge tenants``."""
        shown: dict[str, Any] = {"tenant": self.name, "vendor": self.vendor}
        for key, value in self.settings:
            if key in self.settings.model_fields_set or key == "base_url":
                shown[key] = "(secret)" if isinstance(value, pydantic.SecretStr) else value
        return shown


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("mdmbridge")) / CONFIG_FILENAME


def find_config(explicit: str | Path | None = None) -> Path:
    """``--config``, then ``$MDMBRIDGE_CONFIG``, then the user's config directory."""
    if explicit:
        path, origin = Path(explicit).expanduser(), "--config"
    elif os.environ.get(CONFIG_ENV):
        path, origin = Path(os.environ[CONFIG_ENV]).expanduser(), f"${CONFIG_ENV}"
    else:
        path, origin = default_config_path(), "the default location"
    if not path.is_file():
        raise ConfigError(
            f"no tenants file at {path} (from {origin}); create one, or pass --config "
            "(see docs/configuration.md)"
        )
    return path


def load_tenants(path: str | Path) -> dict[str, Tenant]:
    """Parse and validate the whole file; the first problem is a one-line ConfigError."""
    path = Path(path)
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is skipped, not refused.
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the tenants file: {exc}") from None
    unknown = sorted(set(document) - {"tenants"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key {unknown[0]!r} (expected [tenants.<name>] tables)"
        )
    tables = document.get("tenants", {})
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no tenants: add a [tenants.<name>] table")
    return {name: parse_tenant(name, table, source=str(path)) for name, table in tables.items()}


def parse_tenant(name: str, table: Any, *, source: str = "config") -> Tenant:
    where = f"{source}: tenant {name!r}"
    if not _TENANT_NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: a tenant name is letters, digits, '.', '_' or '-' (at most 64)"
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of settings")
    vendor = table.get("vendor")
    if vendor is not None and not isinstance(vendor, str):
        raise ConfigError(f'{where}: vendor: must be text, such as "duostation"', tenant=name)
    if not vendor:
        raise ConfigError(
            f"{where}: vendor: missing (one of {', '.join(registered_adapters())})", tenant=name
        )
    adapter = registered_adapters().get(vendor)
    if adapter is None:
        known = ", ".join(registered_adapters())
        raise ConfigError(
            f"{where}: vendor: unknown vendor {vendor!r} (installed: {known})", tenant=name
        )
    values = {
        key: resolve_secret(value, where=where, key=key)
        for key, value in table.items()
        if key != "vendor"
    }
    try:
        settings = adapter.settings_model(**values)
    except pydantic.ValidationError as exc:
        raise ConfigError(f"{where}: {settings_error(exc)}", vendor=vendor, tenant=name) from None
    return Tenant(name=name, vendor=vendor, settings=settings)


def resolve_secret(value: Any, *, where: str, key: str) -> Any:
    """``env:VAR`` -> the variable's value; ``keyring:service/name`` -> the keyring's."""
    if not isinstance(value, str):
        return value
    if value.startswith("env:"):
        variable = value[len("env:") :]
        if not variable:
            raise ConfigError(f"{where}: {key}: 'env:' needs a variable name")
        resolved = os.environ.get(variable)
        if resolved is None or resolved == "":
            raise ConfigError(f"{where}: {key}: environment variable {variable} is not set")
        return resolved
    if value.startswith("keyring:"):
        service, _, username = value[len("keyring:") :].partition("/")
        if not service or not username:
            raise ConfigError(f"{where}: {key}: use keyring:<service>/<name>")
        try:
            import keyring  # optional: pip install 'mdmbridge[keyring]'
        except ImportError:
            raise ConfigError(
                f"{where}: {key}: keyring: needs the keyring package "
                "(pip install 'mdmbridge[keyring]')"
            ) from None
        try:
            secret = keyring.get_password(service, username)
        except Exception as exc:  # any backend failure is a config problem, said in one line
            raise ConfigError(
                f"{where}: {key}: keyring lookup failed ({type(exc).__name__})"
            ) from None
        if secret is None:
            raise ConfigError(
                f"{where}: {key}: no keyring entry for service {service!r}, name {username!r}"
            )
        return secret
    return value


def select(
    tenants: Mapping[str, Tenant], names: list[str] | tuple[str, ...] | None
) -> list[Tenant]:
    """The named tenants (all when none are named), in the order given or in file order."""
    if not names:
        return list(tenants.values())
    missing = [n for n in names if n not in tenants]
    if missing:
        raise ConfigError(f"unknown tenant {missing[0]!r} (configured: {', '.join(tenants)})")
    return [tenants[n] for n in dict.fromkeys(names)]
