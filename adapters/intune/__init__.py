"""Microsoft Intune adapter for mdmbridge (Microsoft Graph v1.0): registers itself through
the plugin hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mdmbridge.adapter import Adapter
from mdmbridge.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    from .adapter import IntuneAdapter

    register(IntuneAdapter)


@hookimpl
def register_simulator_options(vendor: str, register: Callable[[click.Option], None]) -> None:
    from .wire import VENDOR

    if vendor != VENDOR:
        return
    import click

    register(click.Option(["--tenant-id"], help="the directory tenant (GUID) it serves"))
    register(click.Option(["--client-id"], help="the app registration's client id it accepts"))
    register(click.Option(["--client-secret"], help="the client secret it accepts"))
