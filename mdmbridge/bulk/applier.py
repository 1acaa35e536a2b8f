"""Apply a bulk plan: tenants in parallel, each paced and capped, never sending twice.

Per target: ``begin`` in the ledger (on disk), send, the outcome in the ledger, one audit
line. A re-run skips what is done and sends what is pending or failed (the vendor refused:
nothing happened). A target whose outcome is unknown (the answer was lost, or the run was
killed while it was in flight) is not sent again unless ``resend_unknown``: a lock sent
twice is harmless, a wipe or a message is not, and only the person running it can say.

Ensure-group/ensure-tag targets look before they create, every time: an earlier write that
landed is found and adopted instead of created again.

A tenant whose credentials are refused, that rate-limits writes, or that cannot do the
action stops alone (its remaining targets stay pending); the other tenants go on. Ctrl-C
(``KeyboardInterrupt`` in the calling thread, or setting ``stop``) lets the commands in
flight finish and be recorded, sends nothing more, and returns the report with
``interrupted`` set.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from mdmbridge import audit as audit_log
from mdmbridge.audit import AuditLog
from mdmbridge.bulk.ledger import BulkLedger
from mdmbridge.bulk.model import BulkPlan, Target
from mdmbridge.bulk.report import BulkReport
from mdmbridge.bulk.tenant_run import (
    SOURCE,
    BulkProgress,
    _action_name,
    _audit_target,
    _params,
    _TenantRun,
)
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.errors import ConfigError, MDMError

__all__ = ["SOURCE", "BulkProgress", "InterruptedWrite", "apply_plan"]


class InterruptedWrite(MDMError):
    """A command was in flight when an earlier apply was killed; it may have been sent."""


def apply_plan(
    plan: BulkPlan,
    tenants: Mapping[str, Tenant | Client],
    *,
    ledger_path: Path | BulkLedger | None,
    dry_run: bool = False,
    resend_unknown: bool = False,
    rate: float | None = 5.0,
    audit: AuditLog | None = None,
    progress: BulkProgress | None = None,
    stop: threading.Event | None = None,
    tenant_workers: int = 8,
) -> BulkReport:
    """Send the plan's writes. ``tenants`` maps each tenant of the plan's targets to a
    ``Tenant`` (connected here, read-only in a dry run) or a ``Client`` (a dry run needs
    a read-only one). ``rate`` is sends a second per tenant (None: unpaced). Writes are
    audited to ``audit``, else to the active audit log, if any."""
    started = time.monotonic()
    own_ledger = not isinstance(ledger_path, BulkLedger)
    ledger = ledger_path if isinstance(ledger_path, BulkLedger) else BulkLedger(ledger_path, plan)
    if ledger.digest != plan.digest():
        raise ConfigError("this ledger was opened for another plan")
    report = BulkReport(
        plan.digest(),
        plan.action.model_dump(mode="json"),
        dry_run,
        None if dry_run or ledger.path is None else str(ledger.path),
    )
    by_tenant: dict[str, list[Target]] = {}
    for target in plan.targets:
        by_tenant.setdefault(target.tenant, []).append(target)
    for name, targets in by_tenant.items():
        given = tenants.get(name)
        if given is None:
            raise ConfigError(f"the plan has targets in tenant {name!r}, which is not given")
        if given.vendor != targets[0].vendor:
            raise ConfigError(
                f"the plan's tenant {name} is {targets[0].vendor}; it is now {given.vendor}"
            )
        if dry_run and isinstance(given, Client) and not given.adapter.read_only:
            raise ConfigError("a dry run needs read-only clients (connect(..., read_only=True))")
    log = None if dry_run else audit_log.resolve(audit)  # unwritable: stop before sending
    stop = stop or threading.Event()
    if not dry_run:
        ledger.open()
    try:
        if not dry_run:
            _settle_interrupted(plan, ledger, log, report.digest)
        runs = [
            _TenantRun(plan, name, targets, tenants[name], ledger, log, stop, progress)
            for name, targets in by_tenant.items()
        ]
        for run in runs:
            run.dry_run, run.resend_unknown, run.rate = dry_run, resend_unknown, rate
        _run_all(runs, stop, report, tenant_workers)
    finally:
        if own_ledger:
            ledger.close()
    order = {t.key: n for n, t in enumerate(plan.targets)}
    for run in runs:
        report.items.extend(run.results)
        report.tenants.append(run.outcome)
        report.sent += run.sent
    report.items.sort(key=lambda i: order[i.key])
    report.seconds = time.monotonic() - started
    return report


def _run_all(runs: list[_TenantRun], stop: threading.Event, report: BulkReport, n: int) -> None:
    if not runs:
        return
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, min(n, len(runs))), thread_name_prefix="mdmbridge-bulk"
    )
    try:
        futures = [pool.submit(run.run) for run in runs]
        pending = set(futures)
        while pending:
            try:
                _, pending = concurrent.futures.wait(pending, timeout=0.2)
            except KeyboardInterrupt:
                stop.set()
                report.cancelled = True
                report.interrupted = "interrupted (Ctrl-C): the commands in flight were recorded"
        if stop.is_set() and report.interrupted is None:
            report.interrupted = "stopped before every target was sent"
        for future in futures:
            future.result()  # a bug in a run surfaces here, after every run has ended
    finally:
        pool.shutdown(wait=True)


def _settle_interrupted(
    plan: BulkPlan, ledger: BulkLedger, log: AuditLog | None, digest: str
) -> None:
    """A ``begin`` with no outcome is a send an earlier run was killed during: record it as
    unknown, in the ledger and in the audit log, before anything else happens."""
    for target in plan.targets:
        entry = ledger.entries.get(target.key)
        if entry is None or not entry.interrupted:
            continue
        error = InterruptedWrite(
            "an earlier apply stopped while this was in flight (killed or crashed); "
            "it may have been sent"
        )
        ledger.finish(
            target.key,
            "unknown",
            how="interrupted",
            error_class=type(error).__name__,
            error=error.message,
        )
        if log is not None:
            log.record(
                tenant=target.tenant,
                vendor=target.vendor,
                action=_action_name(plan, target),
                target=_audit_target(plan, target),
                outcome="unknown",
                params=_params(plan),
                error=error,
                source=SOURCE,
                extra={"plan": digest},
            )
