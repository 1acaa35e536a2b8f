"""DuoSTATION MDM adapter for mdmbridge: registers itself through the plugin hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mdmbridge.adapter import Adapter
from mdmbridge.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    from .adapter import DuoStationAdapter

    register(DuoStationAdapter)


@hookimpl
def register_simulator_options(vendor: str, register: Callable[[click.Option], None]) -> None:
    from .wire import VENDOR

    if vendor != VENDOR:
        return
    import click

    register(click.Option(["--username"], help="the login it accepts"))
    register(click.Option(["--password"], help="the password it accepts"))
