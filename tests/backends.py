"""One vendor-neutral handle on a live simulator, so acceptance and fault tests are written
once and run over every adapter wherever the capability exists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mdmbridge
from mdmbridge.simulation import SimServer
from tests.conftest import connect_duo, connect_ez

VENDORS = ("duostation", "ezmdm")
# Ids of the right form that no seeded record has.
MISSING_IDS = {
    "duostation": {
        "group": "99999",
        "user": "99999",
        "device": "00000000-0000-4000-8000-000000000000",
    },
    "ezmdm": {k: "999999999999999999999999999999" for k in ("group", "user", "device")},
}


@dataclass
class Backend:
    vendor: str
    server: SimServer
    _connect: Callable[..., mdmbridge.Client]

    def connect(self, **overrides: Any) -> mdmbridge.Client:
        return self._connect(self.server, **overrides)

    @property
    def app(self) -> Any:
        return self.server.app

    def missing(self, kind: str) -> str:
        return MISSING_IDS[self.vendor][kind]

    def bad_credentials(self) -> dict[str, Any]:
        return (
            {"password": "wrong-password"}
            if self.vendor == "duostation"
            else {"api_key": "WRONGKEY123456"}
        )

    def commands_seen(self) -> list[tuple[str, str]]:
        """(device id, command) pairs the simulator accepted, in vendor-neutral form."""
        if self.vendor == "duostation":
            return [(device, name) for device, name, _ in self.app.commands]
        return [(device, "push") for device in self.app.pushes]


def start_backend(
    vendor: str, duo_sim: Callable[..., SimServer], ez_sim: Callable[..., SimServer], **kw: Any
) -> Backend:
    if vendor == "duostation":
        return Backend(vendor, duo_sim(**kw), connect_duo)
    return Backend(vendor, ez_sim(**kw), connect_ez)
