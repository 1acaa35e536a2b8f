"""mdmbridge adapter for Acme MDM: the plugin hook, nothing else."""

from __future__ import annotations

from collections.abc import Callable

import mdmbridge
from mdmbridge import Adapter


@mdmbridge.hookimpl
def register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    from .adapter import AcmeAdapter

    register(AcmeAdapter)
