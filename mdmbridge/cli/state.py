"""What every command shares: the tenants file (loaded on first use) and the consoles."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from mdmbridge.config import Tenant, find_config, load_tenants, select, select_tenants

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class State:
    config: Path | None = None
    verbose: int = 0
    _tenants: dict[str, Tenant] | None = None

    # Consoles are made when first printed to: rich is not imported before a command's
    # first request (start-up budget), only when there is something to show.
    @cached_property
    def out(self) -> Console:
        return _console(stderr=False)

    @cached_property
    def err(self) -> Console:
        return _console(stderr=True)

    def tenants(self) -> dict[str, Tenant]:
        if self._tenants is None:
            self._tenants = load_tenants(find_config(self.config))
        return self._tenants

    def select(self, patterns: tuple[str, ...] | list[str] | None) -> list[Tenant]:
        """``-t``: names, ``@label``s and globs (``config.select_tenants``); all when none."""
        return select_tenants(self.tenants(), patterns)

    def tenant(self, name: str) -> Tenant:
        """The one tenant of a single-tenant command: an exact name."""
        return select(self.tenants(), [name])[0]

    @property
    def interactive(self) -> bool:
        """Progress bars and tables only for a person at a terminal."""
        return sys.stderr.isatty()


def _console(*, stderr: bool) -> Console:
    """For rich's output (progress bars, the tables of bulk and migrate): on a terminal
    its width, else ``$COLUMNS``, else wide enough that a pipe is not squeezed to 80.
    ``emit``'s tables do not use it (:mod:`mdmbridge.cli.table` fits them itself)."""
    from rich.console import Console

    from mdmbridge.cli import pager

    stream = sys.stderr if stderr else sys.stdout
    width = None if pager.is_terminal(stream) else (pager.width(stream) or 200)
    return Console(stderr=stderr, soft_wrap=True, width=width)
