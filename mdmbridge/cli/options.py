"""Options that many commands share, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

_F = TypeVar("_F", bound=Callable[..., Any])


def tenant_option() -> Callable[[_F], _F]:
    """``-t/--tenant``, repeatable, for every multi-tenant command (config.select_tenants)."""
    return click.option(
        "--tenant",
        "-t",
        "names",
        multiple=True,
        metavar="NAME|@LABEL|GLOB",
        help="only these tenants: a name, @label or glob such as 'acme-*' (repeatable; "
        "default: all)",
    )
