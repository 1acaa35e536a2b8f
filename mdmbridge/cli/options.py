"""Options that many commands share, declared once, and the completion of tenant names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from mdmbridge.config import Tenant

_F = TypeVar("_F", bound=Callable[..., Any])


def tenant_option() -> Callable[[_F], _F]:
    """``-t/--tenant``, repeatable, for every multi-tenant command (config.select_tenants)."""
    return click.option(
        "--tenant",
        "-t",
        "names",
        multiple=True,
        metavar="NAME|@LABEL|GLOB",
        shell_complete=complete_tenant_selection,
        help="only these tenants: a name, @label or glob such as 'acme-*' (repeatable; "
        "default: all)",
    )


def executor_option() -> Callable[[_F], _F]:
    """``--executor dask://HOST:PORT``: where tenants are read (export and sync alike)."""
    return click.option(
        "--executor",
        "executor_url",
        default=None,
        metavar="dask://HOST:PORT",
        help="read each tenant on this Dask cluster's workers (pip install 'mdmbridge[dask]'); "
        "the output is still written here (see docs/scale.md)",
    )


def complete_tenant_selection(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``-t``: tenant names and ``@label``s of the tenants file, less those already given
    (globs are for typing, not completing)."""
    from click.shell_completion import CompletionItem

    tenants = _completion_tenants(ctx)
    given = set(ctx.params.get(param.name or "", None) or ())
    labels: dict[str, list[str]] = {}
    for tenant in tenants.values():
        for label in tenant.labels:
            labels.setdefault(label, []).append(tenant.name)
    items = _name_items(tenants, incomplete, skip=given)
    items += [
        CompletionItem(f"@{label}", help=f"{len(names)} tenants: {', '.join(names)}")
        for label, names in sorted(labels.items())
        if f"@{label}".startswith(incomplete) and f"@{label}" not in given
    ]
    return items


def complete_tenant_name(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """A single-tenant command's ``TENANT``: exact names only, because that is all it
    accepts (``State.tenant``); a ``@label`` offered here would complete to an error."""
    return _name_items(_completion_tenants(ctx), incomplete, skip=set())


def _name_items(
    tenants: Mapping[str, Tenant], incomplete: str, *, skip: set[str]
) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [
        CompletionItem(name, help=_describe(tenant))
        for name, tenant in tenants.items()
        if name.startswith(incomplete) and name not in skip
    ]


def _describe(tenant: Tenant) -> str:
    labels = " ".join(f"@{label}" for label in tenant.labels)
    return f"{tenant.vendor} {labels}".rstrip()


def _completion_tenants(ctx: click.Context) -> Mapping[str, Tenant]:
    """The tenants of the file the command would use (``--config`` if typed already, else
    ``$MDMBRIDGE_CONFIG``, else the user config dir), or none.

    Completion runs inside the user's shell on every TAB: a missing, unreadable or broken
    tenants file (or a broken plugin) must offer nothing, never an error or a traceback
    over their prompt; the command itself reports the problem when it is run."""
    try:
        from mdmbridge.config import find_config, load_tenants

        return load_tenants(find_config(ctx.find_root().params.get("config")))
    except Exception:  # anything at all: completion is a convenience, never a failure
        return {}
