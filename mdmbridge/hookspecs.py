"""The plugin contract. An adapter package implements one hook; that is all it takes.

A third-party adapter is one module with::

    import mdmbridge

    @mdmbridge.hookimpl
    def register_adapters(register):
        register(MyVendorAdapter)

and one line in its ``pyproject.toml``::

    [project.entry-points.mdmbridge]
    myvendor = "my_package"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from mdmbridge.adapter import Adapter

hookspec = pluggy.HookspecMarker("mdmbridge")
hookimpl = pluggy.HookimplMarker("mdmbridge")


@hookspec
def register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register adapter classes by calling ``register(AdapterClass)`` once per adapter.

    Called once per process, lazily, the first time mdmbridge needs the list of adapters
    (``connect``, ``adapters()``, the CLI). ``AdapterClass`` must subclass
    :class:`mdmbridge.adapter.Adapter` and set ``vendor`` (the name users pass to
    ``connect``), ``capabilities`` and ``settings_model``. Registering two adapters under
    one vendor name is an error. Must not do network or other slow work; return nothing.
    """
