"""A third-party style adapter for the reliability tests, in a module of its own so that
export worker processes (spawned: a fresh interpreter) can import it by name.

It serves a few records from memory; its ``mode`` setting makes it misbehave:

* ``ok``: distinct ids;
* ``duplicate``: the last group repeats the first one's id (the devices and users before it
  are fine, so a half-written tenant would show);
* ``surrogate``: one user's raw payload holds a lone surrogate, which no UTF-8 output can
  hold (the vendor's JSON said ``"\\ud800"``);
* ``die`` / ``kill``: the process ends (``os._exit``; SIGKILL, as the OOM killer does)
  while devices are listed; with ``wait_for``, only once that file exists, and a second
  later (time for the other worker to hand its result back).

``done_marker`` is touched when the last listing (groups) has been served in full.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mdmbridge
from mdmbridge import Adapter, AdapterSettings, Capability, Device, Group, User

VENDOR = "relitest"


class ReliabilitySettings(AdapterSettings):
    mode: str = "ok"
    devices: int = 3
    wait_for: str = ""
    done_marker: str = ""


class ReliabilityAdapter(Adapter):
    vendor = VENDOR
    description = "in-memory adapter that can misbehave (tests)"
    capabilities = frozenset(
        {Capability.DEVICES_READ, Capability.USERS_READ, Capability.GROUPS_READ}
    )
    settings_model = ReliabilitySettings

    @property
    def _settings(self) -> ReliabilitySettings:
        assert isinstance(self.settings, ReliabilitySettings)
        return self.settings

    def _common(self, id: str, raw: dict[str, Any]) -> dict[str, Any]:
        return {"tenant": self.tenant, "vendor": self.vendor, "id": id, "raw": raw}

    def list_devices(self, filters: Any) -> Iterator[Device]:
        settings = self._settings
        for number in range(settings.devices):
            if settings.mode in ("die", "kill") and number == 1:
                if settings.wait_for:
                    deadline = time.monotonic() + 30
                    while not Path(settings.wait_for).exists() and time.monotonic() < deadline:
                        time.sleep(0.02)
                    time.sleep(1.0)
                if settings.mode == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                os._exit(17)  # no cleanup, no exception: the process is just gone
            ident = f"{self.tenant}-d{number}"
            yield Device(**self._common(ident, {"serial": ident}), serial_number=ident)

    def list_users(self, filters: Any) -> Iterator[User]:
        for number in range(2):
            raw: dict[str, Any] = {"mail": f"u{number}@example.se"}
            if self._settings.mode == "surrogate" and number == 1:
                raw["note"] = "broken \ud800 text"
            yield User(**self._common(f"u{number}", raw), name=f"User {number}")

    def list_groups(self, filters: Any) -> Iterator[Group]:
        ids = ["g1", "g2", "g1"] if self._settings.mode == "duplicate" else ["g1", "g2"]
        for ident in ids:
            yield Group(**self._common(ident, {"name": ident}), name=f"Group {ident}")
        if self._settings.done_marker:
            Path(self._settings.done_marker).touch()


@mdmbridge.hookimpl
def register_adapters(register: Any) -> None:
    register(ReliabilityAdapter)


class PicklablePlugin:
    """A plugin object of a module-level class: pickled, it re-creates itself elsewhere."""

    @mdmbridge.hookimpl
    def register_adapters(self, register: Any) -> None:
        register(ReliabilityAdapter)
