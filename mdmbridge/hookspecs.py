"""The plugin contract. An adapter package implements ``register_adapters``; the other
hooks are optional.

A third-party adapter is one module with::

    import mdmbridge

    @mdmbridge.hookimpl
    def register_adapters(register):
        register(MyVendorAdapter)

and one line in its ``pyproject.toml``::

    [project.entry-points.mdmbridge]
    myvendor = "my_package"

A ``@mdmbridge.hookimpl`` whose name is not one of the hooks below (a misspelling) is a
``ConfigError`` naming the plugin and the hook, raised when the plugins are loaded.

A plugin may import ``click`` for the command-line hooks. It must not import
``mdmbridge.cli``, which is private: the hooks hand over everything a plugin needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from mdmbridge.adapter import Adapter

hookspec = pluggy.HookspecMarker("mdmbridge")
hookimpl = pluggy.HookimplMarker("mdmbridge")


@hookspec
def register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register adapter classes by calling ``register(AdapterClass)`` once per adapter.

    Called lazily, the first time mdmbridge needs the adapters (``connect``,
    ``adapters()``, the CLI), and again after more plugins were loaded (the entry-point
    scan, :func:`mdmbridge.plugins.register_plugin`). ``AdapterClass`` must subclass
    :class:`mdmbridge.adapter.Adapter` and set ``vendor`` (the name users pass to
    ``connect``), ``capabilities`` and ``settings_model``. Registering two adapters under
    one vendor name is an error. Must not do network or other slow work; return nothing.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``mdmbridge`` command line.

    Called at most once per ``mdmbridge`` run, when the command line needs more than
    mdmbridge's own commands: to run a command name that is not one of them, or to list
    every command (``mdmbridge --help``). So a plugin's commands cost nothing when
    ``mdmbridge export`` runs.

    ``cli`` is the root :class:`click.Group`. Add to it with ``@cli.command()``,
    ``@cli.group()`` or ``cli.add_command(command)``. A name that mdmbridge or another
    plugin already uses is a ``ConfigError``. mdmbridge parses its own options
    (``--config``, ``-v``) before your command runs. Your command's return value is the
    exit code (``None`` is 0). To fail, raise an :class:`mdmbridge.errors.MDMError`: the
    CLI prints it as one line and picks the exit code (``ConfigError``: 2). Return nothing.
    """


@hookspec
def register_simulator_options(vendor: str, register: Callable[[click.Option], None]) -> None:
    """Add command-line options for ``vendor``'s simulator to ``mdmbridge simulate VENDOR``.

    Called when ``mdmbridge simulate`` reads its arguments or shows its help, with the
    vendor name of a registered adapter that has a simulator (for ``--help`` without a
    vendor: once per such vendor). Every plugin is asked about every vendor: if you do not
    ship ``vendor``'s simulator, return without registering anything. Otherwise call
    ``register(click.Option([...], help=...))`` once per option.

    When an option is given a value (not ``None``, not empty), the value reaches
    :meth:`mdmbridge.adapter.Adapter.start_simulator` in ``credentials``, under the
    option's name: ``--api-key`` becomes ``"api_key"``. So name each option after a key
    your simulator takes, keep the default ``None``, and keep the value text. An option
    whose name or flag is already taken is a ``ConfigError``: by ``simulate``'s own
    (``--port``, ``--devices``, ``--seed``, ``--latency-ms``, ``--fault``, ``--help``), or by
    another option registered for the same vendor. Start nothing here; return nothing.
    """
