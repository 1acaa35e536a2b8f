"""The public face: ``mdmbridge.connect(...)`` returns a :class:`Client`.

The client is thin on purpose: keyword-only signatures (typed from the registry, see
:mod:`mdmbridge.writes`), id normalisation, capability, filter and field checks *before*
any request, then one call into the adapter with checked values. What is checked comes
from the entity's declaration in :mod:`mdmbridge.entities`, not from code per entity; every
vendor decision stays in the adapter.
"""

from __future__ import annotations

from typing import Any

import pydantic

from mdmbridge.adapter import Adapter, AdapterSettings
from mdmbridge.capabilities import Capability
from mdmbridge.errors import ConfigError, UnsupportedOperation
from mdmbridge.fields import UNSET, Id, normalise_id
from mdmbridge.namespaces import (
    Apps,
    Devices,
    DeviceTags,
    Groups,
    GroupTags,
    Locations,
    Namespace,
    Tags,
    Users,
    UserTags,
)
from mdmbridge.plugins import find_adapter, registered_adapters
from mdmbridge.transport.stats import TransportStats

# Re-exported: the sentinel and the id type are part of the client's public signatures,
# and the namespaces are the types of its attributes.
__all__ = [
    "UNSET",
    "Apps",
    "Client",
    "DeviceTags",
    "Devices",
    "GroupTags",
    "Groups",
    "Id",
    "Locations",
    "Namespace",
    "Tags",
    "UserTags",
    "Users",
    "connect",
    "normalise_id",
    "open_client",
    "settings_error",
]


class Client:
    """One tenant of one vendor. Use as a context manager, or call :meth:`close`."""

    def __init__(self, adapter: Adapter) -> None:
        self._adapter = adapter
        self.groups = Groups(self)
        self.users = Users(self)
        self.devices = Devices(self)
        self.locations = Locations(self)
        self.tags = Tags(self)
        self.device_tags = DeviceTags(self)
        self.user_tags = UserTags(self)
        self.group_tags = GroupTags(self)
        self.apps = Apps(self)

    @property
    def vendor(self) -> str:
        return self._adapter.vendor

    @property
    def tenant(self) -> str:
        return self._adapter.tenant

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._adapter.capabilities

    @property
    def adapter(self) -> Adapter:
        return self._adapter

    @property
    def transport_stats(self) -> TransportStats:
        """The retries this client's requests needed so far, and why (429s, 5xx, failed
        connections): a tenant that answers only on the second try still answers, and this
        is how a caller tells. All zero before the first request; builds no transport."""
        transport = vars(self._adapter).get("http")  # the adapter's transport, once built
        stats = getattr(transport, "stats", None)
        return stats if isinstance(stats, TransportStats) else TransportStats()

    def supports(self, capability: Capability) -> bool:
        return capability in self._adapter.capabilities

    def require(self, capability: Capability, what: str) -> None:
        if capability not in self._adapter.capabilities:
            raise UnsupportedOperation(
                f"{self.vendor} does not support {what}", vendor=self.vendor, tenant=self.tenant
            )

    def close(self) -> None:
        self._adapter.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(vendor={self.vendor!r}, tenant={self.tenant!r})"


def connect(
    vendor: str, /, *, tenant: str = "default", read_only: bool = False, **settings: Any
) -> Client:
    """Connect to one tenant of one vendor.

    ``settings`` are the adapter's own (``base_url``, ``username``, ``password`` for
    DuoSTATION; ``api_key`` for ezmdm); they are validated by the adapter's settings model,
    and an unknown or malformed one is a ``ConfigError`` naming it. ``read_only=True``
    makes the transport refuse every write before it is sent (dry runs).
    """
    adapter_class = _adapter_class(vendor, tenant)
    try:
        parsed = adapter_class.settings_model(**settings)
    except pydantic.ValidationError as exc:
        raise ConfigError(
            f"{vendor} settings: {settings_error(exc)}", vendor=vendor, tenant=tenant
        ) from None
    return Client(adapter_class(parsed, tenant=tenant, read_only=read_only))


def open_client(
    vendor: str, settings: AdapterSettings, *, tenant: str, read_only: bool = False
) -> Client:
    """Like :func:`connect`, for settings already validated (a tenants file)."""
    return Client(_adapter_class(vendor, tenant)(settings, tenant=tenant, read_only=read_only))


def _adapter_class(vendor: str, tenant: str) -> type[Adapter]:
    adapter_class = find_adapter(vendor)  # a built-in vendor needs no entry-point scan
    if adapter_class is None:
        known = ", ".join(registered_adapters()) or "none"
        raise ConfigError(f"unknown vendor {vendor!r} (installed adapters: {known})", tenant=tenant)
    return adapter_class


def settings_error(exc: pydantic.ValidationError) -> str:
    """One line naming each bad key, never echoing a value (it may be a secret)."""
    parts = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "settings"
        reason = "unknown setting" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{key}: {reason}")
    return "; ".join(parts)
