"""What every command shares: the tenants file (loaded on first use) and the consoles."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from mdmbridge.config import Tenant, find_config, load_tenants, select, select_tenants


@dataclass
class State:
    config: Path | None = None
    verbose: int = 0
    out: Console = field(default_factory=lambda: _console(stderr=False))
    err: Console = field(default_factory=lambda: _console(stderr=True))
    _tenants: dict[str, Tenant] | None = None

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
    """On a terminal rich fits its width; into a file or pipe, tables are not squeezed to 80."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, soft_wrap=True, width=None if stream.isatty() else 200)
