"""Finding adapters: pluggy, loaded lazily and once.

Built-in adapters are registered by module name and third-party ones come from the
``mdmbridge`` entry-point group, both through the same hook. Nothing is loaded at import
time. ``MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD=1`` skips the entry-point scan (the built-ins
still load), which keeps test runs hermetic, like ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``.

Plugins registered at run time (:func:`register_plugin`) exist only in the process that
registered them. So that other processes (the export's worker processes) know them too,
each is recorded as a :class:`PluginRecipe`: an importable module's name, or the pickled
plugin object. :func:`portable_plugins` hands the recipes out; :func:`restore_plugins`
registers them again in another process.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import os
import pickle
import sys
import threading
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING

import pluggy

from mdmbridge import hookspecs
from mdmbridge.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mdmbridge.adapter import Adapter

ENTRY_POINT_GROUP = "mdmbridge"
DISABLE_AUTOLOAD_ENV = "MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_ADAPTERS = {"duostation": "mdmbridge_duostation", "ezmdm": "mdmbridge_ezmdm"}

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
_adapters: Mapping[str, type[Adapter]] | None = None
# Plugins registered at run time, in order: (the name pluggy holds it under, the plugin).
_runtime: list[tuple[str, object]] = []
# Recipes restore_plugins() could not carry out in this process: plugin name -> why.
_restore_failures: dict[str, str] = {}


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
    """Register a plugin object or module at run time, as a third party's code may.

    Worker processes learn of it through :func:`portable_plugins`: register a module (or an
    object of a class defined at module level) for it to work there too."""
    global _adapters
    manager = plugin_manager()
    with _lock:
        registered = manager.register(plugin, name=name)
        _runtime.append((registered or name or manager.get_canonical_name(plugin), plugin))
        _adapters = None


def reset() -> None:
    """Forget loaded plugins so the next use loads them again (tests, long-lived hosts)."""
    global _manager, _adapters
    with _lock:
        _manager = None
        _adapters = None
        _runtime.clear()
        _restore_failures.clear()


@dataclass(frozen=True)
class PluginRecipe:
    """How to register a run-time plugin again in another process (picklable)."""

    name: str  # the name it is registered under
    label: str  # for messages: the module name, or the object's class
    module: str | None = None  # import this module and register it
    payload: bytes | None = None  # or unpickle this object and register it


@dataclass(frozen=True)
class StrandedPlugin:
    """A run-time plugin that cannot be re-created in another process, and what it adds."""

    name: str
    label: str
    reason: str
    vendors: frozenset[str]


def portable_plugins() -> tuple[list[PluginRecipe], list[StrandedPlugin]]:
    """The plugins registered at run time in this process: recipes for those another
    process can re-create, and the others with the vendors they register."""
    manager = plugin_manager()
    with _lock:
        runtime = list(_runtime)
    recipes: list[PluginRecipe] = []
    stranded: list[StrandedPlugin] = []
    for name, plugin in runtime:
        if not manager.is_registered(plugin):  # unregistered meanwhile
            continue
        label = _label(plugin)
        try:
            recipes.append(_recipe(name, label, plugin))
        except _NotPortable as why:
            stranded.append(StrandedPlugin(name, label, str(why), _vendors_of(manager, plugin)))
    return recipes, stranded


class _NotPortable(Exception):
    pass


def _label(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return f"module {plugin.__name__}"
    if isinstance(plugin, type):
        return f"class {plugin.__module__}.{plugin.__qualname__}"
    return f"object of {type(plugin).__module__}.{type(plugin).__qualname__}"


def _recipe(name: str, label: str, plugin: object) -> PluginRecipe:
    if isinstance(plugin, ModuleType):
        if not _importable(plugin):
            raise _NotPortable("the module cannot be imported by its name in another process")
        return PluginRecipe(name, label, module=plugin.__name__)
    try:
        payload = pickle.dumps(plugin, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # pickle raises PicklingError, AttributeError, TypeError, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _NotPortable(f"it cannot be pickled: {reason}") from None
    return PluginRecipe(name, label, payload=payload)


def _importable(module: ModuleType) -> bool:
    """Whether a fresh process (same ``sys.path``) finds this module by its name: not for
    ``__main__``, nor for a module built in memory or loaded from a file by hand."""
    spec = getattr(module, "__spec__", None)
    if module.__name__ == "__main__" or spec is None or spec.name != module.__name__:
        return False
    parent, _, leaf = module.__name__.rpartition(".")
    search = None
    if parent:
        package = sys.modules.get(parent)
        search = getattr(package, "__path__", None)
        if search is None:
            return False
    try:  # the path finder itself: importlib.util.find_spec would answer from sys.modules
        return (
            importlib.machinery.PathFinder.find_spec(leaf if parent else module.__name__, search)
            is not None
        )
    except (ImportError, ValueError):
        return False


def _vendors_of(manager: pluggy.PluginManager, plugin: object) -> frozenset[str]:
    """The vendor names this one plugin registers (calling its hook alone)."""
    others = [p for p in manager.get_plugins() if p is not plugin]
    found: set[str] = set()

    def register(adapter: object) -> None:
        vendor = getattr(adapter, "vendor", None)
        if isinstance(vendor, str) and vendor:
            found.add(vendor)

    with contextlib.suppress(Exception):  # a broken plugin says so when adapters are collected
        manager.subset_hook_caller("register_adapters", others)(register=register)
    return frozenset(found)


def restore_plugins(recipes: Sequence[PluginRecipe]) -> None:
    """Register run-time plugins of another process here, once (a no-op for plugins this
    process has already, such as in the process that made the recipes). A recipe that
    fails is remembered, for :func:`restore_failures`, not raised."""
    global _adapters
    manager = plugin_manager()
    with _lock:
        wanted = [
            r
            for r in recipes
            if manager.get_plugin(r.name) is None and r.name not in _restore_failures
        ]
    for recipe in wanted:  # imports run outside the lock: a module may register itself
        try:
            if recipe.module is not None:
                plugin: object = importlib.import_module(recipe.module)
            else:
                plugin = pickle.loads(recipe.payload or b"")
            with _lock:
                if manager.get_plugin(recipe.name) is None:
                    manager.register(plugin, name=recipe.name)
                    _runtime.append((recipe.name, plugin))
                    _adapters = None
        except Exception as exc:
            text = str(exc).splitlines()[0] if str(exc) else ""
            with _lock:
                _restore_failures[recipe.name] = (
                    f"plugin {recipe.label} could not be re-created in this process "
                    f"({type(exc).__name__}{': ' + text if text else ''})"
                )


def restore_failures() -> list[str]:
    """One line per recipe :func:`restore_plugins` could not carry out in this process."""
    with _lock:
        return list(_restore_failures.values())
