"""Resource commands over one tenant (devices|users|groups|tags|apps ...). Filled in next."""

from __future__ import annotations

import click


def add_resource_commands(cli: click.Group) -> None:
    return None
