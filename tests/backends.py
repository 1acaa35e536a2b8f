"""One vendor-neutral handle on a live simulator, so acceptance and fault tests are written
once and run over every adapter wherever the capability exists.

Nothing here knows a vendor: a backend is the conformance kit's :class:`~mdmbridge.testing.Kit`
for the vendor's profile (``<adapter package>.conformance.PROFILE``), started with the
suite's leak canaries (``tests/support.py``) as its credentials.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mdmbridge
from mdmbridge.simulation import SimServer
from mdmbridge.testing import Kit, load_profile
from tests.conftest import FAST
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY

VENDORS = ("duostation", "ezmdm")
# The suite's canaries, by the setting they stand for: a simulator that takes the setting
# accepts the canary in place of its default, so every leak check can look for it.
CANARIES = {"username": DUO_USER, "password": DUO_PASSWORD, "api_key": EZ_KEY}


@dataclass
class Backend:
    vendor: str
    kit: Kit

    @property
    def server(self) -> SimServer:
        return self.kit.server

    @property
    def app(self) -> Any:
        return self.server.app

    def connect(self, **overrides: Any) -> mdmbridge.Client:
        settings = {**self.kit.running.settings, **FAST, **overrides}
        tenant = settings.pop("tenant", f"{self.vendor}-test")
        return mdmbridge.connect(self.vendor, tenant=tenant, **settings)

    def missing(self, kind: str) -> str:
        """An id of the right form that no record has; ``kind`` is "group", "user", ..."""
        return self.kit.missing(kind if kind.endswith("s") else kind + "s")

    def bad_credentials(self) -> dict[str, Any]:
        return dict(self.kit.profile.bad_credentials)

    def commands_seen(self) -> list[tuple[str, str]]:
        """(device id, command) pairs the simulator accepted, in vendor-neutral form."""
        return self.kit.commands_seen() or []


def start_backend(vendor: str, *_factories: Callable[..., SimServer], **simulator: Any) -> Backend:
    """Start ``vendor``'s simulator (``devices=``, ``seed=``) through its adapter.

    The simulator factories the tests pass (``duo_sim``, ``ez_sim``) are accepted for the
    callers' sake and not needed: the server stops when the backend is dropped, which
    pytest does when the test's fixtures are torn down."""
    profile = dataclasses.replace(load_profile(vendor), **simulator)
    fields = mdmbridge.adapters()[vendor].adapter_class.settings_model.model_fields
    credentials = {key: value for key, value in CANARIES.items() if key in fields}
    kit = Kit(profile, credentials=credentials)
    backend = Backend(vendor, kit)
    weakref.finalize(backend, kit.stop)
    return backend
