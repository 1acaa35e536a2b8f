"""What the conformance kit cannot work out from an adapter's declarations alone.

Everything generic comes from the adapter class itself: ``capabilities``, ``list_filters``,
``writable``, ``settings_model`` and ``start_simulator``. The rest, a handful of facts about
the vendor's ids and its simulator, is one :class:`ConformanceProfile` that the adapter
package ships as ``<package>.conformance.PROFILE`` (found by :func:`load_profile`), or
hands to the kit directly in its own tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mdmbridge.simulation import SimServer

PROFILE_MODULE = "conformance"
PROFILE_NAME = "PROFILE"

# (device id, command name) pairs a simulator accepted, in the order it accepted them.
CommandLog = Callable[[SimServer], Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class ConformanceProfile:
    """One adapter's facts for the kit. Entities are named as in ``list_filters``
    (``"groups"``, ``"users"``, ``"devices"``, ``"tags"``, ``"apps"``).

    ``missing_ids``: an id of the right form that no seeded record has, per entity.
    ``bad_credentials``: ``connect()`` settings that the simulator refuses (an AuthError).
    ``bad_ids``: ids of the wrong form for this vendor, refused locally with a
    ``ValidationError``; the kit adds ids that would change a URL (``../1``, ``1/2``, ...).
    ``commands_seen``: the device commands the simulator received, or None if it keeps no
    record (then the kit checks receipts only).
    ``page_size_setting``: the setting that sets the page size, for vendors that page.
    ``credentials``: what the simulator accepts (keys as in the settings; None: its defaults).
    ``issued_secrets``: secrets the simulator handed out (OAuth tokens), checked like the
    configured ones.
    ``shaping_faults``: the list faults the simulator applies itself (``"duplicate"``).
    ``create_values`` / ``update_values``: extra keyword arguments for ``create`` /
    ``update``, per entity, for fields the kit has no sample value for.
    """

    vendor: str
    missing_ids: Mapping[str, str]
    bad_credentials: Mapping[str, Any]
    bad_ids: Mapping[str, Sequence[str]] = field(default_factory=dict)
    commands_seen: CommandLog | None = None
    page_size_setting: str | None = None
    small_page_size: int = 3
    devices: int = 12
    seed: int = 1
    credentials: Mapping[str, str] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    issued_secrets: Callable[[SimServer], Iterable[str]] | None = None
    shaping_faults: frozenset[str] = frozenset()
    create_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    update_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def load_profile(vendor: str) -> ConformanceProfile:
    """The profile an installed adapter ships: ``PROFILE`` in the ``conformance`` module
    of the package that holds its adapter class (``mdmbridge_myvendor.conformance``)."""
    import mdmbridge

    info = mdmbridge.adapters().get(vendor)
    if info is None:
        raise LookupError(f"no adapter is registered under the vendor name {vendor!r}")
    package = info.adapter_class.__module__.partition(".")[0]
    name = f"{package}.{PROFILE_MODULE}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise LookupError(
            f"{vendor}: no conformance profile ({name} does not exist); pass a "
            "ConformanceProfile to the kit instead"
        ) from None
    profile = getattr(module, PROFILE_NAME, None)
    if not isinstance(profile, ConformanceProfile):
        raise LookupError(f"{name} has no {PROFILE_NAME} of type ConformanceProfile")
    if profile.vendor != vendor:
        raise LookupError(f"{name}.{PROFILE_NAME} is for {profile.vendor!r}, not {vendor!r}")
    return profile
