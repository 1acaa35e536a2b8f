"""DuoSTATION MDM adapter for mdmbridge: registers itself through the plugin hook."""

from __future__ import annotations

from collections.abc import Callable

from mdmbridge.adapter import Adapter
from mdmbridge.hookspecs import hookimpl


@hookimpl
def register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    from .adapter import DuoStationAdapter

    register(DuoStationAdapter)
