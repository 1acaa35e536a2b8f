"""The command tree, built in a function: nothing is registered at import time."""

from __future__ import annotations

from pathlib import Path

import click

from mdmbridge.cli.state import State
from mdmbridge.errors import ConfigError


class RootGroup(click.Group):
    """mdmbridge's own commands, then the plugins' (the ``register_commands`` hook).

    The plugins' commands are added once, when first needed: to run a name that is not one
    of mdmbridge's, or to list every command (``--help``). So running a built-in command
    loads no plugin for it, and a broken plugin surfaces inside ``main()``, which prints
    it as one line. A plugin cannot replace a command."""

    _plugins_added = False
    _adding_plugins = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and not self._plugins_added:
            self._add_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if self._adding_plugins and name in self.commands:
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
    @click.version_option(package_name="mdmbridge")
    @click.pass_context
    def cli(ctx: click.Context, config: Path | None, verbose: int) -> None:
        """mdmbridge: one model over many MDMs and many tenants."""
        from mdmbridge.cli import configure_logging

        configure_logging(verbose)
        ctx.obj = State(config=config, verbose=verbose)

    from mdmbridge.cli import commands, find, resources

    for command in commands.all_commands():
        cli.add_command(command)
    cli.add_command(find.find_command)
    resources.add_resource_commands(cli)
    from mdmbridge.cli.migrate import migrate_group

    cli.add_command(migrate_group())
    from mdmbridge.cli.audit import add_audit_and_bulk

    add_audit_and_bulk(cli)  # --audit-log, audit, bulk
    return cli
