"""check: reach every selected tenant and prove its credentials.

Written for a person first: the status column says what happened in words ("auth
refused", "unreachable"), not in class names, and a tenant that answered only after
retries says so ("ok, 2 retries after 429"), because a tenant that needs retries today is
the one that fails tomorrow. The detail column keeps the error's one-line message, and
machine formats carry the retry counts as numbers (``retries``, ``rate_limited``,
``server_errors``, ``connection_errors``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import click

from mdmbridge.cli.exits import exit_for
from mdmbridge.cli.options import tenant_option
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.config import Tenant, select_tenants
from mdmbridge.errors import (
    AuthError,
    ConfigError,
    Conflict,
    DryRunViolation,
    IncompleteListing,
    MalformedResponse,
    MDMError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransportError,
    UnsupportedOperation,
    ValidationError,
    VendorServerError,
)
from mdmbridge.fleet import run_for_each
from mdmbridge.transport.stats import TransportStats

# The error tree in words, most specific first where classes nest (the lookup walks the
# error's class hierarchy, so a subclass without its own entry reads as its parent's).
STATUS_WORDS: dict[type[MDMError], str] = {
    AuthError: "auth refused",
    PermissionDenied: "permission denied",
    NotFound: "not found",
    Conflict: "conflict",
    ValidationError: "invalid request",
    RateLimited: "rate limited",
    VendorServerError: "server error",
    TransportError: "unreachable",
    IncompleteListing: "incomplete listing",
    MalformedResponse: "bad answer",
    UnsupportedOperation: "unsupported",
    ConfigError: "misconfigured",
    DryRunViolation: "write refused",
    MDMError: "failed",
}
COLUMNS = ["tenant", "vendor", "status", "seconds", "detail"]
COUNTS = ["retries", "rate_limited", "server_errors", "connection_errors"]


def status_word(error: MDMError) -> str:
    """The words for an error's class: the nearest class of the tree that has some."""
    for cls in type(error).__mro__:
        if cls in STATUS_WORDS:
            return STATUS_WORDS[cls]
    return STATUS_WORDS[MDMError]


def retry_note(stats: TransportStats) -> str:
    """``", 3 retries after 429 and 5xx"``; empty when none were needed."""
    if not stats.retries:
        return ""
    causes = [
        cause
        for cause, count in (
            ("429", stats.rate_limited),
            ("5xx", stats.server_errors),
            ("connection errors", stats.connection_errors),
        )
        if count
    ]
    said = " and ".join(causes) if len(causes) < 3 else f"{causes[0]}, {causes[1]} and {causes[2]}"
    plural = "retry" if stats.retries == 1 else "retries"
    return f", {stats.retries} {plural} after {said}"


@click.command("check")
@tenant_option()
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)
@format_option()
@click.pass_obj
def check_command(state: State, names: tuple[str, ...], workers: int, fmt: str) -> int:
    """Reach every tenant and prove its credentials, in parallel, with timings."""
    stats: dict[str, TransportStats] = {}

    def probe(tenant: Tenant) -> str:
        with tenant.connect(read_only=True) as client:
            try:
                first = next(iter(client.groups.list()), None)
            finally:  # a failure's retries count too ("rate limited, 4 retries after 429")
                stats[tenant.name] = client.transport_stats
            return "ok" if first is not None else "ok (no groups)"

    tenants = select_tenants(state.tenants(), names)
    with _spinner(state, fmt, len(tenants)) as done:
        outcomes = {}
        for outcome in run_for_each(tenants, probe, workers=workers):
            outcomes[outcome.tenant] = outcome
            done(len(outcomes))
    rows = []
    for tenant in tenants:
        outcome = outcomes[tenant.name]
        counts = stats.get(tenant.name, TransportStats())
        if outcome.error is None:
            status = f"{outcome.value}{retry_note(counts)}"
        else:
            status = f"{status_word(outcome.error)}{retry_note(counts)}"
        rows.append(
            {
                "tenant": tenant.name,
                "vendor": tenant.vendor,
                "status": status,
                "seconds": round(outcome.seconds, 3),
                **{name: getattr(counts, name) for name in COUNTS},
                "detail": "" if outcome.error is None else str(outcome.error),
            }
        )
    columns = COLUMNS if fmt == "table" else [*COLUMNS[:-1], *COUNTS, COLUMNS[-1]]
    emit(state.out, columns, rows, fmt, title="check")
    errors = [o.error for o in outcomes.values() if o.error is not None]
    return exit_for(errors, succeeded=len(outcomes) - len(errors))


@contextlib.contextmanager
def _spinner(state: State, fmt: str, total: int) -> Iterator[Callable[[int], None]]:
    """A spinner on stderr while tenants answer, for a person at a terminal reading a
    table; nothing at all for a pipe or a machine format (rich is not even imported)."""
    if fmt != "table" or not state.interactive:
        yield lambda count: None
        return
    what = f"checking {total} tenant{'' if total == 1 else 's'}…"
    with state.err.status(what) as status:
        yield lambda count: status.update(f"{what} {count} answered")
