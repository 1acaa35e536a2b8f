"""The command tree, built in a function: nothing is registered at import time."""

from __future__ import annotations

from pathlib import Path

import click

from mdmbridge.cli.state import State


def make_cli() -> click.Group:
    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
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

    from mdmbridge.cli import commands, resources

    for command in commands.all_commands():
        cli.add_command(command)
    resources.add_resource_commands(cli)
    from mdmbridge.cli.migrate import migrate_group

    cli.add_command(migrate_group())
    return cli
