"""A configured tenant (a name, a vendor, labels and that adapter's settings) and the
mapping of them a tenants file becomes.

A tenant is read-only and picklable (worker processes receive it); its secret references
are resolved on first use, once, under a lock (one keyring prompt, not one per thread).
The settings are checked by the vendor's own settings model, found without the
entry-point scan when the vendor is built in (:func:`mdmbridge.plugins.find_adapter`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pydantic

from mdmbridge.adapter import Adapter, AdapterSettings
from mdmbridge.client import Client, open_client, settings_error
from mdmbridge.errors import ConfigError
from mdmbridge.plugins import find_adapter, registered_adapters
from mdmbridge.references import PLACEHOLDER, is_reference, resolve_secret
from mdmbridge.selection import select_tenants

LABELS_KEY = "labels"


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
        return validated(self.vendor, values, where=where, tenant=self.name)

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
        model = adapter_for(self.vendor).settings_model
        preview = self._resolved or settings_preview(self.vendor, table)
        for key, info in model.model_fields.items():
            if key not in table and key != "base_url":
                continue
            if _is_secret(info):
                shown[key] = "(secret)"
            elif key in table and is_reference(table[key]):
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


def adapter_for(vendor: str) -> type[Adapter]:
    """The adapter class of a vendor the file has already named (checked at load)."""
    found = find_adapter(vendor)
    if found is None:
        known = ", ".join(registered_adapters())
        raise ConfigError(f"unknown vendor {vendor!r} (installed: {known})")
    return found


def validated(
    vendor: str, values: Mapping[str, Any], *, where: str, tenant: str
) -> AdapterSettings:
    try:
        return adapter_for(vendor).settings_model(**values)
    except pydantic.ValidationError as exc:
        raise ConfigError(f"{where}: {settings_error(exc)}", vendor=vendor, tenant=tenant) from None


def settings_preview(vendor: str, table: Mapping[str, Any]) -> AdapterSettings | None:
    """The settings with stand-ins for references (for showing plain values as validated),
    or None when a stand-in does not fit a key (a referenced base_url)."""
    stand_ins = {k: (PLACEHOLDER if is_reference(v) else v) for k, v in table.items()}
    try:
        return adapter_for(vendor).settings_model(**stand_ins)
    except pydantic.ValidationError:
        return None


def _is_secret(info: Any) -> bool:
    annotation = info.annotation
    options = getattr(annotation, "__args__", (annotation,))
    return any(option is pydantic.SecretStr for option in options)
