"""check: reach every selected tenant and prove its credentials."""

from __future__ import annotations

import click

from mdmbridge.cli.exits import exit_for
from mdmbridge.cli.options import tenant_option
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.config import Tenant, select_tenants
from mdmbridge.fleet import run_for_each


@click.command("check")
@tenant_option()
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)
@format_option()
@click.pass_obj
def check_command(state: State, names: tuple[str, ...], workers: int, fmt: str) -> int:
    """Reach every tenant and prove its credentials, in parallel, with timings."""

    def probe(tenant: Tenant) -> str:
        with tenant.connect(read_only=True) as client:
            first = next(iter(client.groups.list()), None)
            return "ok" if first is not None else "ok (no groups)"

    tenants = select_tenants(state.tenants(), names)
    outcomes = {o.tenant: o for o in run_for_each(tenants, probe, workers=workers)}
    rows = []
    for tenant in tenants:
        outcome = outcomes[tenant.name]
        rows.append(
            {
                "tenant": tenant.name,
                "vendor": tenant.vendor,
                "status": outcome.value if outcome.ok else type(outcome.error).__name__,
                "seconds": round(outcome.seconds, 3),
                "detail": "" if outcome.ok else str(outcome.error),
            }
        )
    emit(state.out, ["tenant", "vendor", "status", "seconds", "detail"], rows, fmt, title="check")
    errors = [o.error for o in outcomes.values() if o.error is not None]
    return exit_for(errors, succeeded=len(outcomes) - len(errors))
