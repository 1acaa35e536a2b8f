"""Finding adapters: pluggy, loaded lazily and once.

Built-in adapters are registered by module name and third-party ones come from the
``mdmbridge`` entry-point group, both through the same hook. Nothing is loaded at import
time. ``MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD=1`` skips the entry-point scan (the built-ins
still load), which keeps test runs hermetic, like ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``.
"""

from __future__ import annotations

import importlib
import os
import threading
from types import MappingProxyType
from typing import TYPE_CHECKING

import pluggy

from mdmbridge import hookspecs
from mdmbridge.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mdmbridge.adapter import Adapter

ENTRY_POINT_GROUP = "mdmbridge"
DISABLE_AUTOLOAD_ENV = "MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_ADAPTERS = {"duostation": "mdmbridge_duostation", "ezmdm": "mdmbridge_ezmdm"}

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
_adapters: Mapping[str, type[Adapter]] | None = None


def _new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("mdmbridge")
    manager.add_hookspecs(hookspecs)
    for name, module_name in BUILTIN_ADAPTERS.items():
        manager.register(importlib.import_module(module_name), name=name)
    if not os.environ.get(DISABLE_AUTOLOAD_ENV):
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)  # skips names already registered
    return manager


def plugin_manager() -> pluggy.PluginManager:
    global _manager
    with _lock:
        if _manager is None:
            _manager = _new_manager()
        return _manager


def registered_adapters() -> Mapping[str, type[Adapter]]:
    """Vendor name -> adapter class, collected once through the ``register_adapters`` hook."""
    global _adapters
    manager = plugin_manager()
    with _lock:
        if _adapters is not None:
            return _adapters
        from mdmbridge.adapter import Adapter

        found: dict[str, type[Adapter]] = {}

        def register(adapter: type[Adapter]) -> None:
            if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
                raise ConfigError(
                    f"plugin registered {adapter!r}, which is not an Adapter subclass"
                )
            name = getattr(adapter, "vendor", None)
            if not name:
                raise ConfigError(f"adapter {adapter.__name__} has no vendor name")
            if name in found and found[name] is not adapter:
                raise ConfigError(f"two adapters registered the vendor name {name!r}")
            found[name] = adapter

        manager.hook.register_adapters(register=register)
        _adapters = MappingProxyType(dict(sorted(found.items())))
        return _adapters


def register_plugin(plugin: object, *, name: str | None = None) -> None:
    """Register a plugin object or module at run time, as a third party's code may."""
    global _adapters
    manager = plugin_manager()
    with _lock:
        manager.register(plugin, name=name)
        _adapters = None


def reset() -> None:
    """Forget loaded plugins so the next use loads them again (tests, long-lived hosts)."""
    global _manager, _adapters
    with _lock:
        _manager = None
        _adapters = None
