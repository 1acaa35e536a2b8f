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
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
import tomllib
from collections.abc import Iterable, Iterator, Mapping
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
_LABEL = _TENANT_NAME  # the same alphabet: letters, digits, '.', '_' and '-' (at most 64)
_GLOB = re.compile(r"[*?\[]")
LABELS_KEY = "labels"
# Stands in for a secret reference while the file is checked: it has the shape every
# built-in secret accepts. A key whose value is a reference is checked again, for real,
# once the reference is resolved.
_PLACEHOLDER = "Unresolved-reference-0"


class Tenant:
    """One configured tenant: its name, vendor, labels and the adapter's settings.

    ``settings`` is the adapter's validated settings model, whose secrets are
    ``SecretStr`` (their repr shows ``**********``). For a tenant from a file, secret
    references are resolved on first use of ``settings`` (and so of :meth:`connect`), once;
    a reference that cannot be resolved raises a ``ConfigError`` naming the tenant, the key
    and the reason, and is tried again on the next use.
    """

    __slots__ = ("_lock", "_resolved", "_table", "labels", "name", "source", "vendor")

    name: str
    vendor: str
    labels: tuple[str, ...]
    source: str
    _table: dict[str, Any] | None  # the file's values, references unresolved
    _resolved: AdapterSettings | None
    _lock: threading.Lock

    def __init__(
        self,
        name: str,
        vendor: str,
        settings: AdapterSettings | None = None,
        *,
        labels: Iterable[str] = (),
        table: Mapping[str, Any] | None = None,
        source: str = "config",
    ) -> None:
        if settings is None and table is None:
            raise TypeError("Tenant needs settings, or the table of settings to resolve")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "vendor", vendor)
        object.__setattr__(self, "labels", tuple(labels))
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "_table", None if table is None else dict(table))
        object.__setattr__(self, "_resolved", settings)
        object.__setattr__(self, "_lock", threading.Lock())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Tenant is read-only: cannot set {name!r}")

    # Pickled for worker processes (the export's processes=N): the lock stays behind, and
    # unresolved references travel as references (resolved in the worker, on first use).
    def __getstate__(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vendor": self.vendor,
            "labels": self.labels,
            "source": self.source,
            "_table": self._table,
            "_resolved": self._resolved,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_lock", threading.Lock())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tenant):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.name, self.vendor))

    def _key(self) -> tuple[Any, ...]:
        """What the tenant is: its file entry (resolved or not), else its settings."""
        made_of = self._resolved if self._table is None else self._table
        return (self.name, self.vendor, self.labels, self.source, made_of)

    def __repr__(self) -> str:
        labels = f", labels={list(self.labels)!r}" if self.labels else ""
        return f"Tenant(name={self.name!r}, vendor={self.vendor!r}{labels})"

    @property
    def settings(self) -> AdapterSettings:
        """The validated settings, secret references resolved (on first use, once)."""
        resolved = self._resolved
        if resolved is not None:
            return resolved
        with self._lock:  # one keyring prompt, not one per thread
            if self._resolved is None:
                object.__setattr__(self, "_resolved", self._resolve())
            assert self._resolved is not None
            return self._resolved

    @property
    def resolved(self) -> bool:
        """Whether the settings (and so the secrets) have been resolved already."""
        return self._resolved is not None

    def _resolve(self) -> AdapterSettings:
        assert self._table is not None
        where = f"{self.source}: tenant {self.name!r}"
        values = {
            key: resolve_secret(value, where=where, key=key, vendor=self.vendor, tenant=self.name)
            for key, value in self._table.items()
        }
        return _validated(self.vendor, values, where=where, tenant=self.name)

    def connect(self, *, read_only: bool = False) -> Client:
        return open_client(self.vendor, self.settings, tenant=self.name, read_only=read_only)

    def describe(self) -> dict[str, Any]:
        """What the file set for this tenant, secrets replaced, for ``mdmbridge tenants``.
        Resolves nothing: a reference to a secret shows as ``(secret)``, a reference in an
        ordinary setting as itself (``env:ACME_URL``)."""
        shown: dict[str, Any] = {"tenant": self.name, "vendor": self.vendor}
        if self.labels:
            shown[LABELS_KEY] = list(self.labels)
        table = self._table
        if table is None:  # built from settings (no file): show what they set
            assert self._resolved is not None
            for key, value in self._resolved:
                if key in self._resolved.model_fields_set or key == "base_url":
                    shown[key] = "(secret)" if isinstance(value, pydantic.SecretStr) else value
            return shown
        model = registered_adapters()[self.vendor].settings_model
        preview = self._resolved or _preview(self.vendor, table)
        for key, info in model.model_fields.items():
            if key not in table and key != "base_url":
                continue
            if _is_secret(info):
                shown[key] = "(secret)"
            elif key in table and _is_reference(table[key]):
                shown[key] = table[key]
            elif preview is not None:
                shown[key] = getattr(preview, key)
            elif key in table:
                shown[key] = table[key]
            elif not info.is_required():
                shown[key] = info.get_default(call_default_factory=True)
        return shown


class Tenants(Mapping[str, Tenant]):
    """The configured tenants by name, in file order (what :func:`configured_tenants`
    returns): ``tenants["acme-duo"].connect()``, ``tenants.select("@eu", "acme-*")``."""

    def __init__(self, tenants: Mapping[str, Tenant] | Iterable[Tenant], source: str = "") -> None:
        items = tenants.values() if isinstance(tenants, Mapping) else tenants
        self._tenants = {t.name: t for t in items}
        self.source = source

    def __getitem__(self, name: str) -> Tenant:
        try:
            return self._tenants[name]
        except KeyError:
            raise KeyError(
                f"unknown tenant {name!r} (configured: {', '.join(self._tenants)})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._tenants)

    def __len__(self) -> int:
        return len(self._tenants)

    def __repr__(self) -> str:
        return f"Tenants({list(self._tenants)!r})"

    def select(self, *patterns: str) -> list[Tenant]:
        """:func:`select_tenants` over these tenants."""
        return select_tenants(self, patterns)


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
    adapter = registered_adapters().get(vendor)
    if adapter is None:
        known = ", ".join(registered_adapters())
        raise ConfigError(
            f"{where}: vendor: unknown vendor {vendor!r} (installed: {known})", tenant=name
        )
    labels = _labels(table.get(LABELS_KEY, []), where=where, tenant=name)
    values = {key: value for key, value in table.items() if key not in ("vendor", LABELS_KEY)}
    references = {key for key, value in values.items() if _is_reference(value)}
    for key in references:
        _check_reference(values[key], where=where, key=key, tenant=name)
    if not references:
        settings = _validated(vendor, values, where=where, tenant=name)
        return Tenant(name, vendor, settings, labels=labels, table=values, source=source)
    # Check everything but the references now; they are checked once resolved.
    stand_ins = {k: (_PLACEHOLDER if k in references else v) for k, v in values.items()}
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


def _validated(
    vendor: str, values: Mapping[str, Any], *, where: str, tenant: str
) -> AdapterSettings:
    try:
        return registered_adapters()[vendor].settings_model(**values)
    except pydantic.ValidationError as exc:
        raise ConfigError(f"{where}: {settings_error(exc)}", vendor=vendor, tenant=tenant) from None


def _preview(vendor: str, table: Mapping[str, Any]) -> AdapterSettings | None:
    """The settings with stand-ins for references (for showing plain values as validated),
    or None when a stand-in does not fit a key (a referenced base_url)."""
    stand_ins = {k: (_PLACEHOLDER if _is_reference(v) else v) for k, v in table.items()}
    try:
        return registered_adapters()[vendor].settings_model(**stand_ins)
    except pydantic.ValidationError:
        return None


def _is_secret(info: Any) -> bool:
    annotation = info.annotation
    options = getattr(annotation, "__args__", (annotation,))
    return any(option is pydantic.SecretStr for option in options)


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


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("env:", "keyring:"))


def _check_reference(value: str, *, where: str, key: str, tenant: str) -> None:
    """A reference's form is part of the file: a malformed one is refused at load."""
    if value.startswith("env:") and not value[len("env:") :]:
        raise ConfigError(f"{where}: {key}: 'env:' needs a variable name", tenant=tenant)
    if value.startswith("keyring:"):
        service, _, username = value[len("keyring:") :].partition("/")
        if not service or not username:
            raise ConfigError(f"{where}: {key}: use keyring:<service>/<name>", tenant=tenant)


def resolve_secret(
    value: Any, *, where: str, key: str, vendor: str | None = None, tenant: str | None = None
) -> Any:
    """``env:VAR`` -> the variable's value; ``keyring:service/name`` -> the keyring's."""
    if not isinstance(value, str):
        return value

    def fail(reason: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {reason}", vendor=vendor, tenant=tenant)

    if value.startswith("env:"):
        variable = value[len("env:") :]
        if not variable:
            raise fail("'env:' needs a variable name")
        resolved = os.environ.get(variable)
        if resolved is None or resolved == "":
            raise fail(f"environment variable {variable} is not set")
        return resolved
    if value.startswith("keyring:"):
        service, _, username = value[len("keyring:") :].partition("/")
        if not service or not username:
            raise fail("use keyring:<service>/<name>")
        try:
            import keyring  # optional: pip install 'mdmbridge[keyring]'
        except ImportError:
            raise fail(
                "keyring: needs the keyring package (pip install 'mdmbridge[keyring]')"
            ) from None
        try:
            secret = keyring.get_password(service, username)
        except Exception as exc:  # any backend failure is a config problem, said in one line
            raise fail(f"keyring lookup failed ({type(exc).__name__})") from None
        if secret is None:
            raise fail(f"no keyring entry for service {service!r}, name {username!r}")
        return secret
    return value


# --------------------------------------------------------------------------- selection


def select_tenants(
    tenants: Mapping[str, Tenant], patterns: Iterable[str] | None = None
) -> list[Tenant]:
    """The tenants ``patterns`` pick (all of them, in file order, when none are given).

    Each pattern is a tenant name (exact), ``@label`` (every tenant carrying that label),
    or a glob over names (``acme-*``, ``?``, ``[...]``; case-sensitive, like names).
    The result is in the order of the patterns, each pattern's tenants in file order,
    each tenant once. A name, a label or a glob that picks nothing is a ``ConfigError``
    (exit 2) that lists what exists. Nothing is resolved or connected here.
    """
    given = [p.strip() for p in (patterns or ())]
    if not given:
        return list(tenants.values())
    chosen: dict[str, Tenant] = {}
    for pattern in given:
        for tenant in _matching(tenants, pattern):
            chosen.setdefault(tenant.name, tenant)
    return list(chosen.values())


def _matching(tenants: Mapping[str, Tenant], pattern: str) -> list[Tenant]:
    names = ", ".join(tenants) or "none"
    if not pattern:
        raise ConfigError(f"an empty tenant selection (configured: {names})")
    if pattern.startswith("@"):
        label = pattern[1:]
        labels = sorted({lab for t in tenants.values() for lab in t.labels})
        found = [
            t for t in tenants.values() if any(fnmatch.fnmatchcase(lab, label) for lab in t.labels)
        ]
        if not found:
            known = ", ".join(f"@{lab}" for lab in labels) or "no tenant has labels"
            raise ConfigError(f"unknown label {pattern!r} (labels: {known}; tenants: {names})")
        return found
    if _GLOB.search(pattern):
        found = [t for t in tenants.values() if fnmatch.fnmatchcase(t.name, pattern)]
        if not found:
            raise ConfigError(f"no tenant matches {pattern!r} (configured: {names})")
        return found
    if pattern not in tenants:
        raise ConfigError(f"unknown tenant {pattern!r} (configured: {names})")
    return [tenants[pattern]]


def select(
    tenants: Mapping[str, Tenant], names: list[str] | tuple[str, ...] | None
) -> list[Tenant]:
    """The named tenants (all when none are named), in the order given or in file order.
    Exact names only (the single-tenant commands); :func:`select_tenants` takes labels and
    globs too."""
    if not names:
        return list(tenants.values())
    missing = [n for n in names if n not in tenants]
    if missing:
        raise ConfigError(f"unknown tenant {missing[0]!r} (configured: {', '.join(tenants)})")
    return [tenants[n] for n in dict.fromkeys(names)]
