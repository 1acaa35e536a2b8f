"""What the ``bulk`` commands share: the ``-t``/``--output``/``PLAN``/``--ledger``
options, how ``-t`` selects tenants, and the columns of their tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from mdmbridge.cli.options import complete_tenant_selection
from mdmbridge.cli.state import State
from mdmbridge.config import Tenant

ITEM_COLUMNS = [
    "tenant",
    "vendor",
    "device_id",
    "name",
    "serial",
    "op",
    "status",
    "note",
    "error_class",
    "error",
]
STATUS_COLUMNS = ["tenant", "vendor", "targets", "done", "failed", "unknown", "pending"]

_TENANTS = click.option(
    "-t",
    "--tenant",
    "tenants",
    multiple=True,
    metavar="TENANT",
    shell_complete=complete_tenant_selection,
    help="a tenant name, @label or glob (repeatable; default: every tenant)",
)
_OUTPUT = click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the plan file to write",
)
_PLAN = click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
_LEDGER = click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="default: PLAN.ledger.jsonl beside the plan",
)


def select_tenants(state: State, selectors: Sequence[str]) -> list[Tenant]:
    """``-t``: names, ``@label``s and globs (``config.select_tenants``); all when none."""
    return state.select(list(selectors) or None)
