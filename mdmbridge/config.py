"""The tenants file: named tenants, each a vendor plus that adapter's settings.

    [tenants.acme-duo]
    vendor = "duostation"
    labels = ["eu", "schools"]               # optional: select with -t @eu
    base_url = "https://mdm.acme.example"
    username = "api"
    password = "env:ACME_DUO_PASSWORD"     # or "keyring:mdmbridge/acme-duo"

Found via ``--config``, then ``MDMBRIDGE_CONFIG``, then ``tenants.toml`` in the user's
config directory. The whole file is checked when it is loaded, before any request: TOML,
tenant names, labels, vendors, and every setting by its adapter's settings model; a problem
is one ``ConfigError`` line naming the file, the tenant and the key.

Secret references (``env:``, ``keyring:``) are resolved later, per tenant, when a tenant's
settings are first needed (:attr:`Tenant.settings`, :meth:`Tenant.connect`): an unset
variable or a missing keyring entry fails that tenant alone, with its reason, and never the
tenants that were not selected. Secret values are never echoed.

:func:`select_tenants` picks tenants by name, ``@label`` or glob, for every multi-tenant
command and for scripts; :func:`configured_tenants` (``mdmbridge.tenants()``) opens the
same file the command line uses.

The jobs are split by module: this one finds and parses the file; :mod:`mdmbridge.tenant`
holds :class:`Tenant` and :class:`Tenants` and checks settings against the adapter's
model; :mod:`mdmbridge.references` resolves ``env:`` and ``keyring:``;
:mod:`mdmbridge.selection` picks tenants. Their public names are importable from here too.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pydantic

from mdmbridge.errors import ConfigError
from mdmbridge.plugins import find_adapter, registered_adapters
from mdmbridge.references import PLACEHOLDER, check_reference, is_reference, resolve_secret
from mdmbridge.selection import select, select_tenants
from mdmbridge.tenant import LABELS_KEY, Tenant, Tenants, validated

__all__ = [
    "CONFIG_ENV",
    "CONFIG_FILENAME",
    "LABELS_KEY",
    "Tenant",
    "Tenants",
    "configured_tenants",
    "default_config_path",
    "find_config",
    "load_tenants",
    "parse_tenant",
    "resolve_secret",
    "select",
    "select_tenants",
]

CONFIG_ENV = "MDMBRIDGE_CONFIG"
CONFIG_FILENAME = "tenants.toml"
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LABEL = _TENANT_NAME  # the same alphabet: letters, digits, '.', '_' and '-' (at most 64)


def default_config_path() -> Path:
    import platformdirs  # only when neither --config nor $MDMBRIDGE_CONFIG says

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


def configured_tenants(config: str | Path | None = None) -> Tenants:
    """The tenants of the file the command line uses (``config``, else
    ``$MDMBRIDGE_CONFIG``, else the user's config directory); ``mdmbridge.tenants()``."""
    path = find_config(config)
    return Tenants(load_tenants(path), source=str(path))


def load_tenants(path: str | Path) -> dict[str, Tenant]:
    """Parse and check the whole file; the first problem is a one-line ConfigError.
    Secret references are not resolved here (see :class:`Tenant`)."""
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
    """One ``[tenants.<name>]`` table, checked whole; secret references stay unresolved
    (plain values are validated at once, so a table without references is ready)."""
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
    adapter = find_adapter(vendor)
    if adapter is None:
        known = ", ".join(registered_adapters())
        raise ConfigError(
            f"{where}: vendor: unknown vendor {vendor!r} (installed: {known})", tenant=name
        )
    labels = _labels(table.get(LABELS_KEY, []), where=where, tenant=name)
    values = {key: value for key, value in table.items() if key not in ("vendor", LABELS_KEY)}
    references = {key for key, value in values.items() if is_reference(value)}
    for key in references:
        check_reference(values[key], where=where, key=key, tenant=name)
    if not references:
        settings = validated(vendor, values, where=where, tenant=name)
        return Tenant(name, vendor, settings, labels=labels, table=values, source=source)
    # Check everything but the references now; they are checked once resolved.
    stand_ins = {k: (PLACEHOLDER if k in references else v) for k, v in values.items()}
    try:
        adapter.settings_model(**stand_ins)
    except pydantic.ValidationError as exc:
        # A stand-in's own complaint waits for the real value; an unknown key does not.
        problems = [
            e
            for e in exc.errors()
            if not e["loc"] or e["loc"][0] not in references or e["type"] == "extra_forbidden"
        ]
        if problems:
            raise ConfigError(
                f"{where}: {_problems(problems)}", vendor=vendor, tenant=name
            ) from None
    return Tenant(name, vendor, labels=labels, table=values, source=source)


def _problems(errors: list[Any]) -> str:
    """The errors left once the references' are set aside, worded as
    :func:`~mdmbridge.client.settings_error` words them (never echoing a value)."""
    parts = []
    for error in errors:
        key = ".".join(str(p) for p in error["loc"]) or "settings"
        reason = "unknown setting" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{key}: {reason}")
    return "; ".join(parts)


def _labels(value: Any, *, where: str, tenant: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f'{where}: labels: must be a list of names, such as ["eu", "schools"]', tenant=tenant
        )
    for label in value:
        if not _LABEL.fullmatch(label):
            raise ConfigError(
                f"{where}: labels: {label!r}: a label is letters, digits, '.', '_' or '-' "
                "(at most 64)",
                tenant=tenant,
            )
    return tuple(dict.fromkeys(value))
