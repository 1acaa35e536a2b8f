"""Picking tenants: by name, ``@label`` or glob, for every multi-tenant command and for
scripts. Pure functions over a mapping of tenants: nothing is resolved or connected here.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from mdmbridge.errors import ConfigError

if TYPE_CHECKING:
    from mdmbridge.tenant import Tenant

_GLOB = re.compile(r"[*?\[]")


def select_tenants(
    tenants: Mapping[str, Tenant], patterns: Iterable[str] | None = None
) -> list[Tenant]:
    """The tenants ``patterns`` pick (all of them, in file order, when none are given).

    Each pattern is a tenant name (exact), ``@label`` (every tenant carrying that label),
    or a glob over names (``acme-*``, ``?``, ``[...]``; case-sensitive, like names).
    The result is in the order of the patterns, each pattern's tenants in file order,
    each tenant once. A name, a label or a glob that picks nothing is a ``ConfigError``
    (exit 2) that lists what exists. Nothing is resolved or connected here.
    """
    given = [p.strip() for p in (patterns or ())]
    if not given:
        return list(tenants.values())
    chosen: dict[str, Tenant] = {}
    for pattern in given:
        for tenant in _matching(tenants, pattern):
            chosen.setdefault(tenant.name, tenant)
    return list(chosen.values())


def _matching(tenants: Mapping[str, Tenant], pattern: str) -> list[Tenant]:
    names = ", ".join(tenants) or "none"
    if not pattern:
        raise ConfigError(f"an empty tenant selection (configured: {names})")
    if pattern.startswith("@"):
        label = pattern[1:]
        labels = sorted({lab for t in tenants.values() for lab in t.labels})
        found = [
            t for t in tenants.values() if any(fnmatch.fnmatchcase(lab, label) for lab in t.labels)
        ]
        if not found:
            known = ", ".join(f"@{lab}" for lab in labels) or "no tenant has labels"
            raise ConfigError(f"unknown label {pattern!r} (labels: {known}; tenants: {names})")
        return found
    if _GLOB.search(pattern):
        found = [t for t in tenants.values() if fnmatch.fnmatchcase(t.name, pattern)]
        if not found:
            raise ConfigError(f"no tenant matches {pattern!r} (configured: {names})")
        return found
    if pattern not in tenants:
        raise ConfigError(f"unknown tenant {pattern!r} (configured: {names})")
    return [tenants[pattern]]


def select(
    tenants: Mapping[str, Tenant], names: list[str] | tuple[str, ...] | None
) -> list[Tenant]:
    """The named tenants (all when none are named), in the order given or in file order.
    Exact names only (the single-tenant commands); :func:`select_tenants` takes labels and
    globs too."""
    if not names:
        return list(tenants.values())
    missing = [n for n in names if n not in tenants]
    if missing:
        raise ConfigError(f"unknown tenant {missing[0]!r} (configured: {', '.join(tenants)})")
    return [tenants[n] for n in dict.fromkeys(names)]
