"""The command tree, built in a function: nothing is registered at import time.

Commands are imported when they are run (or when ``--help`` lists them), not before: an
``export`` imports no migration, no resource commands and no rich tables, which keeps
start-up to the first request small (issue 10's budget is 0.2 s of CPU)."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from mdmbridge.cli.state import State
from mdmbridge.errors import ConfigError

# name -> (module, attribute, argument): the attribute is a command, or a factory called
# with the argument (or with nothing).
_NONE = object()
LAZY_COMMANDS: dict[str, tuple[str, str, object]] = {
    "adapters": ("mdmbridge.cli.commands", "adapters_command", _NONE),
    "tenants": ("mdmbridge.cli.commands", "tenants_command", _NONE),
    "check": ("mdmbridge.cli.check", "check_command", _NONE),
    "export": ("mdmbridge.cli.export", "export_command", _NONE),
    "demo": ("mdmbridge.cli.demo", "demo_command", _NONE),
    "simulate": ("mdmbridge.cli.simulate", "simulate_command", _NONE),
    "find": ("mdmbridge.cli.find", "find_command", _NONE),
    "devices": ("mdmbridge.cli.resources", "resource_group", "devices"),
    "users": ("mdmbridge.cli.resources", "resource_group", "users"),
    "groups": ("mdmbridge.cli.resources", "resource_group", "groups"),
    "tags": ("mdmbridge.cli.resources", "resource_group", "tags"),
    "apps": ("mdmbridge.cli.resources", "resource_group", "apps"),
    "migrate": ("mdmbridge.cli.migrate", "migrate_group", None),
    "audit": ("mdmbridge.cli.audit", "audit_command", _NONE),
    "bulk": ("mdmbridge.cli.bulk", "bulk_group", None),
    "sync": ("mdmbridge.cli.sync", "sync_command", _NONE),
    "changes": ("mdmbridge.cli.sync", "changes_command", _NONE),
    "runs": ("mdmbridge.cli.sync", "runs_command", _NONE),
    "report": ("mdmbridge.cli.report", "report_command", _NONE),
    "completion": ("mdmbridge.cli.completion", "completion_command", _NONE),
}


def load_command(name: str) -> click.Command:
    """The built-in command ``name``, imported now."""
    module, attribute, argument = LAZY_COMMANDS[name]
    found = getattr(importlib.import_module(module), attribute)
    if isinstance(found, click.Command):
        return found
    command: click.Command = found() if argument is None else found(argument)
    return command


class RootGroup(click.Group):
    """mdmbridge's own commands (imported when first needed), then the plugins' (the
    ``register_commands`` hook).

    The plugins' commands are added once, when first needed: to run a name that is not one
    of mdmbridge's, or to list every command (``--help``). So running a built-in command
    loads no plugin for it, and a broken plugin surfaces inside ``main()``, which prints
    it as one line. A plugin cannot replace a command."""

    _plugins_added = False
    _adding_plugins = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = load_command(cmd_name)
            super().add_command(command, cmd_name)
        if command is None and not self._plugins_added:
            self._add_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return sorted({*LAZY_COMMANDS, *super().list_commands(ctx)})

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if self._adding_plugins and (name in self.commands or name in LAZY_COMMANDS):
            raise ConfigError(
                f"a plugin's register_commands added the command {name!r}, "
                "which mdmbridge or another plugin already has"
            )
        super().add_command(cmd, name)

    def _add_plugin_commands(self) -> None:
        if self._plugins_added:
            return
        from mdmbridge import plugins

        manager = plugins.plugin_manager()
        self._adding_plugins = True
        try:
            manager.hook.register_commands(cli=self)
        finally:
            self._adding_plugins = False
        self._plugins_added = True


def _use_audit_log(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """The root option ``--audit-log`` (default ``$MDMBRIDGE_AUDIT_LOG``, else the user data
    dir): the run's active audit log, given back when the run ends (tests run many in one
    process). It is opened only when something is about to be written."""
    from mdmbridge import audit

    log = audit.AuditLog(audit.audit_path(value))
    previous = audit.activate(log)

    def restore() -> None:
        audit.activate(previous)
        log.close()

    ctx.call_on_close(restore)


def make_cli() -> click.Group:
    @click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="tenants file (default: $MDMBRIDGE_CONFIG, then the user config dir)",
    )
    @click.option(
        "-v", "--verbose", count=True, help="log to stderr (-vv: HTTP too); secrets redacted"
    )
    @click.option(
        "--audit-log",
        type=click.Path(dir_okay=False),
        default=None,
        expose_value=False,
        callback=_use_audit_log,
        help="append-only log of every write (default: $MDMBRIDGE_AUDIT_LOG, "
        "then audit.jsonl in the user data dir)",
    )
    @click.version_option(package_name="mdmbridge")
    @click.pass_context
    def cli(ctx: click.Context, config: Path | None, verbose: int) -> None:
        """mdmbridge: one model over many MDMs and many tenants."""
        from mdmbridge.cli import configure_logging

        configure_logging(verbose)
        ctx.obj = State(config=config, verbose=verbose)

    return cli
