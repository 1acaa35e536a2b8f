"""``mdmbridge completion SHELL``: the shell's completion script, printed for the user to
install.

The script is click's own (it calls back into ``mdmbridge`` with ``_MDMBRIDGE_COMPLETE``
set), so commands, options and choices complete from the same declarations that parse
them, and tenant names and ``@label``s come from the tenants file (``cli/options.py``)."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
PROG_NAME = "mdmbridge"  # the name main() gives click, so the variable the script sets
COMPLETE_VAR = "_MDMBRIDGE_COMPLETE"


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> int:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(mdmbridge completion bash)"   # in ~/.bashrc (bash 4.4 or later)
    zsh:   eval "$(mdmbridge completion zsh)"    # in ~/.zshrc
    fish:  mdmbridge completion fish > ~/.config/fish/completions/mdmbridge.fish
    """
    from click.shell_completion import get_completion_class

    # Choice has refused any other name, and click ships a class for each of the three.
    completion_class = get_completion_class(shell)
    assert completion_class is not None
    root = ctx.find_root().command
    script = completion_class(root, {}, PROG_NAME, COMPLETE_VAR).source()
    click.echo(script)
    return 0
