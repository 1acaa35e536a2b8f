"""Finding adapters: pluggy, loaded lazily and once.

The built-in adapters are the modules of :data:`BUILTIN_ADAPTERS`, registered by module
name: that dict is the one list of them (they have no entry points). Third-party plugins
come from the ``mdmbridge`` entry-point group. Both implement the same hooks. Nothing is
loaded at import time. ``MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD=1`` skips the entry-point scan
(the built-ins still load), which keeps test runs hermetic, like
``PYTEST_DISABLE_PLUGIN_AUTOLOAD``.

Loading takes two steps, each done once: the built-ins (three imports by name), then the
entry-point scan (reads the metadata of every installed distribution).
:func:`plugin_manager` and :func:`registered_adapters` take both. :func:`find_adapter`,
which is what connecting a tenant uses, takes as little as it can: for a built-in vendor
name it imports that one built-in (each is registered under its vendor's name), so a
command over ezmdm tenants imports neither Intune's adapter nor the entry points; only a
vendor name that no built-in or run-time plugin registers needs the scan. That is part of
start-up to the first request (issue 10's 0.2 s of CPU). After each step, every plugin is
checked against the hookspecs: a misspelt ``@hookimpl`` is a
:class:`~mdmbridge.errors.ConfigError` naming the plugin and the hook.

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
# The built-in adapters, plugin name -> module: the one list of them.
BUILTIN_ADAPTERS = {
    "duostation": "mdmbridge_duostation",
    "ezmdm": "mdmbridge_ezmdm",
    "intune": "mdmbridge_intune",
}

_lock = threading.Lock()
# The hookspecs, the run-time plugins and the built-ins of _builtins (all of them once any
# caller needs more than one vendor); the entry points once _scanned.
_manager: pluggy.PluginManager | None = None
_builtins: set[str] = set()  # the built-ins registered in _manager so far
_scanned = False  # the entry points are in _manager (or were skipped: the autoload switch)
_adapters: Mapping[str, type[Adapter]] | None = None  # collected from _manager
_adapters_scanned = False  # whether _adapters includes the entry points' adapters
# Where entry-point plugins came from, for messages: plugin name -> "acme-mdm 1.0".
_origins: dict[str, str] = {}
# Plugins registered at run time, in order: (the name pluggy holds it under, the plugin).
_runtime: list[tuple[str, object]] = []
# Recipes restore_plugins() could not carry out in this process: plugin name -> why.
_restore_failures: dict[str, str] = {}


def _plain() -> pluggy.PluginManager:
    """The manager, with whatever it holds so far; call with _lock held."""
    global _manager
    if _manager is None:
        manager = pluggy.PluginManager("mdmbridge")
        manager.add_hookspecs(hookspecs)
        _manager = manager
    return _manager


def _builtin(manager: pluggy.PluginManager, name: str) -> None:
    """Register the built-in ``name`` unless it is already; call with _lock held."""
    global _adapters
    if name in _builtins:
        return
    _register(manager, importlib.import_module(BUILTIN_ADAPTERS[name]), name)
    _builtins.add(name)
    _adapters = None  # collected without it


def _base() -> pluggy.PluginManager:
    """The manager with every built-in (and any run-time plugins); call with _lock held."""
    manager = _plain()
    for name in BUILTIN_ADAPTERS:
        _builtin(manager, name)
    return manager


def _scan(manager: pluggy.PluginManager) -> None:
    """Register the ``mdmbridge`` entry points (those whose name is not taken yet); call
    with _lock held."""
    import importlib.metadata  # here: reading every distribution's metadata is the scan

    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        name = entry_point.name
        if manager.get_plugin(name) is not None or manager.is_blocked(name):
            continue
        dist = entry_point.dist
        origin = f"{dist.name} {dist.version}" if dist is not None else entry_point.value
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a broken third-party package: say which, in one line
            raise ConfigError(
                f"plugin {name!r} (entry point {entry_point.value!r} of {origin}) "
                f"could not be loaded: {_reason(exc)}"
            ) from None
        _origins[name] = origin
        _register(manager, plugin, name)


def _register(manager: pluggy.PluginManager, plugin: object, name: str | None) -> str:
    """Register ``plugin`` and check every hookimpl of it against the hookspecs. A plugin
    that does not fit is unregistered again, and the error names it and the hook."""
    try:
        registered = manager.register(plugin, name=name)
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        culprit = exc.plugin if manager.is_registered(exc.plugin) else plugin
        error = _misfit(manager, culprit, exc, name if culprit is plugin else None)
        if manager.is_registered(plugin):
            manager.unregister(plugin)
        raise error from None
    return registered or name or manager.get_canonical_name(plugin)


def _misfit(
    manager: pluggy.PluginManager,
    plugin: object,
    exc: pluggy.PluginValidationError,
    name: str | None,
) -> ConfigError:
    name = manager.get_name(plugin) or name or manager.get_canonical_name(plugin)
    origin = f", from {_origins[name]}" if name in _origins else ""
    who = f"plugin {name!r} ({_label(plugin)}{origin})"
    hooks = sorted(n for n in dir(hookspecs) if manager.parse_hookspec_opts(hookspecs, n))
    unknown = sorted(c.name for c in manager.get_hookcallers(plugin) or () if not c.has_spec())
    if not unknown:  # an argument the hookspec does not have, for one
        return ConfigError(f"{who} does not fit mdmbridge's hooks: {' '.join(str(exc).split())}")
    import difflib  # only for a misfit plugin's error

    close = difflib.get_close_matches(unknown[0], hooks, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(
        f"{who} implements {unknown[0]!r}, which is not an mdmbridge hook "
        f"({hint}the hooks are {', '.join(hooks)})"
    )


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def plugin_manager() -> pluggy.PluginManager:
    """The plugin manager with every plugin: the built-ins, the run-time ones and, unless
    ``MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD`` is set, the entry-point group's (scanned once).
    A plugin that cannot be loaded or does not fit the hookspecs is a ``ConfigError``."""
    global _scanned
    with _lock:
        manager = _base()
        if not _scanned:
            if not os.environ.get(DISABLE_AUTOLOAD_ENV):
                _scan(manager)
            _scanned = True
        return manager


def _collect(manager: pluggy.PluginManager) -> Mapping[str, type[Adapter]]:
    from mdmbridge.adapter import Adapter

    found: dict[str, type[Adapter]] = {}

    def register(adapter: type[Adapter]) -> None:
        if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
            raise ConfigError(f"plugin registered {adapter!r}, which is not an Adapter subclass")
        name = getattr(adapter, "vendor", None)
        if not name:
            raise ConfigError(f"adapter {adapter.__name__} has no vendor name")
        if name in found and found[name] is not adapter:
            raise ConfigError(f"two adapters registered the vendor name {name!r}")
        found[name] = adapter

    manager.hook.register_adapters(register=register)
    return MappingProxyType(dict(sorted(found.items())))


def registered_adapters() -> Mapping[str, type[Adapter]]:
    """Vendor name -> adapter class, collected once through the ``register_adapters`` hook
    from every plugin (the entry points included)."""
    global _adapters, _adapters_scanned
    manager = plugin_manager()
    with _lock:
        if _adapters is None or not _adapters_scanned:
            _adapters = _collect(manager)
            _adapters_scanned = True
        return _adapters


def find_adapter(vendor: str) -> type[Adapter] | None:
    """The adapter class registered under ``vendor``, or ``None``.

    A built-in vendor name imports that built-in alone; a run-time plugin's is found
    among all the built-ins; neither scans the entry points. Any other name scans them
    (once), as :func:`registered_adapters` does. Before that scan, an entry point (or a
    built-in not imported yet) registering the same vendor name again goes unnoticed here
    (:func:`registered_adapters` reports it); the adapter found is the one that would be
    used anyway."""
    global _adapters, _adapters_scanned
    with _lock:
        manager = _plain()
        if vendor in BUILTIN_ADAPTERS:
            _builtin(manager, vendor)
        else:
            _base()
        if _adapters is None:
            _adapters = _collect(manager)
            _adapters_scanned = _scanned
        found = _adapters.get(vendor)
        if found is not None or _adapters_scanned:
            return found
    return registered_adapters().get(vendor)


def register_plugin(plugin: object, *, name: str | None = None) -> None:
    """Register a plugin object or module at run time, as a third party's code may.

    A plugin that does not fit the hookspecs (a misspelt hook) is a ``ConfigError`` and
    stays unregistered. Worker processes learn of it through :func:`portable_plugins`:
    register a module (or an object of a class defined at module level) for it to work
    there too."""
    global _adapters
    with _lock:
        registered = _register(_base(), plugin, name)
        _runtime.append((registered, plugin))
        _adapters = None


def reset() -> None:
    """Forget loaded plugins so the next use loads them again (tests, long-lived hosts)."""
    global _manager, _adapters, _scanned, _adapters_scanned
    with _lock:
        _manager = None
        _builtins.clear()
        _scanned = False
        _adapters = None
        _adapters_scanned = False
        _origins.clear()
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
    with _lock:
        manager = _base()
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
    with _lock:
        manager = _base()
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
                    _register(manager, plugin, recipe.name)
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
