"""mdmbridge: one vendor-neutral model over the REST APIs of MDM products.

    import mdmbridge
    mdm = mdmbridge.connect("duostation", base_url=..., username=..., password=..., tenant="acme")
    for device in mdm.devices.list():
        ...

    for tenant in mdmbridge.tenants().select("@eu"):   # the CLI's tenants file
        with tenant.connect() as client:
            ...

Importing this package loads no plugin and opens no connection; adapters are found on
first use (see :mod:`mdmbridge.plugins`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Errors are imported at once: they are small, and every caller needs them.
from mdmbridge.errors import (
    AuthError,
    ConfigError,
    Conflict,
    DryRunViolation,
    IncompleteListing,
    MalformedResponse,
    MDMError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransportError,
    UnsupportedOperation,
    ValidationError,
    VendorServerError,
)

if TYPE_CHECKING:
    from pathlib import Path

    from mdmbridge.adapter import Adapter, AdapterSettings
    from mdmbridge.capabilities import Capability
    from mdmbridge.client import UNSET, Client, connect
    from mdmbridge.config import Tenant, Tenants, select_tenants
    from mdmbridge.hookspecs import hookimpl
    from mdmbridge.models import (
        App,
        AppStore,
        Command,
        CommandKind,
        CommandReceipt,
        Device,
        Group,
        Location,
        Platform,
        Record,
        Tag,
        TagLink,
        TagTarget,
        User,
    )

# The rest of the public API is imported on first use (PEP 562), so that ``import
# mdmbridge.cli`` or ``mdmbridge.errors`` costs no pydantic models, no transport and no
# requests until a command needs them: start-up to the first request is budgeted (0.2 s
# of CPU, issue 10). ``mdmbridge.Client``, ``from mdmbridge import Device`` and mypy see
# no difference. Name -> the module that defines it.
_LAZY: dict[str, str] = {
    "Adapter": "mdmbridge.adapter",
    "AdapterSettings": "mdmbridge.adapter",
    "Capability": "mdmbridge.capabilities",
    "UNSET": "mdmbridge.client",
    "Client": "mdmbridge.client",
    "connect": "mdmbridge.client",
    "Tenant": "mdmbridge.config",
    "Tenants": "mdmbridge.config",
    "select_tenants": "mdmbridge.config",
    "hookimpl": "mdmbridge.hookspecs",
    **{
        name: "mdmbridge.models"
        for name in (
            "App",
            "AppStore",
            "Command",
            "CommandKind",
            "CommandReceipt",
            "Device",
            "Group",
            "Location",
            "Platform",
            "Record",
            "Tag",
            "TagLink",
            "TagTarget",
            "User",
        )
    },
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mdmbridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"


@dataclass(frozen=True)
class AdapterInfo:
    vendor: str
    description: str
    capabilities: frozenset[Capability]
    adapter_class: type[Adapter]


def tenants(config: str | Path | None = None) -> Tenants:
    """The configured tenants by name: the file the command line reads (``config``, else
    ``$MDMBRIDGE_CONFIG``, else the user's config directory), checked whole, secrets not yet
    resolved. ``tenants()["acme-duo"].connect()``; ``tenants().select("@eu", "acme-*")``.
    A missing or malformed file is a ``ConfigError``; a tenant whose secret cannot be
    resolved raises its own ``ConfigError`` when it connects."""
    from mdmbridge.config import configured_tenants

    return configured_tenants(config)


def adapters() -> dict[str, AdapterInfo]:
    """Installed adapters by vendor name, with what each can do."""
    from mdmbridge.plugins import registered_adapters

    return {
        name: AdapterInfo(name, cls.description, cls.capabilities, cls)
        for name, cls in registered_adapters().items()
    }


__all__ = [
    "UNSET",
    "Adapter",
    "AdapterInfo",
    "AdapterSettings",
    "App",
    "AppStore",
    "AuthError",
    "Capability",
    "Client",
    "Command",
    "CommandKind",
    "CommandReceipt",
    "ConfigError",
    "Conflict",
    "Device",
    "DryRunViolation",
    "Group",
    "IncompleteListing",
    "Location",
    "MDMError",
    "MalformedResponse",
    "NotFound",
    "PermissionDenied",
    "Platform",
    "RateLimited",
    "Record",
    "Tag",
    "TagLink",
    "TagTarget",
    "Tenant",
    "Tenants",
    "TransportError",
    "UnsupportedOperation",
    "User",
    "ValidationError",
    "VendorServerError",
    "adapters",
    "connect",
    "hookimpl",
    "select_tenants",
    "tenants",
]
