"""One action across many tenants, with the safety rails of a migration: plan -> apply.

    plan = mdmbridge.bulk.plan_send(tenants, "lock", where=["platform=ios"])  # reads only
    plan.save("lock.json")                                   # review it
    report = mdmbridge.bulk.apply(plan, {t.name: t for t in tenants},
                                  ledger="lock.ledger.jsonl")  # resumable, never twice
    mdmbridge.bulk.status(plan, ledger="lock.ledger.jsonl").tenants

The CLI (``mdmbridge bulk plan|apply|status``) is a thin layer over these calls.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from mdmbridge.audit import AuditLog
from mdmbridge.bulk.actions import COMMANDS, CommandWord
from mdmbridge.bulk.applier import BulkProgress, InterruptedWrite, apply_plan
from mdmbridge.bulk.ledger import BulkLedger
from mdmbridge.bulk.model import BulkPlan, EnsureAction, SendAction, Target, TenantPlan, load_plan
from mdmbridge.bulk.pace import DEFAULT_RATE, parse_rate
from mdmbridge.bulk.planner import plan_ensure, plan_send
from mdmbridge.bulk.report import BulkReport, ItemResult, PlanStatus, TenantResult, plan_status
from mdmbridge.client import Client
from mdmbridge.config import Tenant


def apply(
    plan: BulkPlan,
    tenants: Mapping[str, Tenant | Client],
    *,
    ledger: str | Path | BulkLedger | None,
    dry_run: bool = False,
    resend_unknown: bool = False,
    rate: float | None = 5.0,
    audit: AuditLog | None = None,
    progress: BulkProgress | None = None,
    stop: threading.Event | None = None,
) -> BulkReport:
    """Send the plan's writes (see :mod:`mdmbridge.bulk.applier`). ``ledger`` is a path
    (locked while this runs), an open :class:`BulkLedger`, or None: in memory only, no
    resume, no protection against sending twice."""
    return apply_plan(
        plan,
        tenants,
        ledger_path=ledger if ledger is None or isinstance(ledger, BulkLedger) else Path(ledger),
        dry_run=dry_run,
        resend_unknown=resend_unknown,
        rate=rate,
        audit=audit,
        progress=progress,
        stop=stop,
    )


def status(plan: BulkPlan, *, ledger: str | Path) -> PlanStatus:
    """Done, failed, unknown and pending per tenant, from the ledger; sends nothing."""
    return plan_status(plan, Path(ledger))


__all__ = [
    "COMMANDS",
    "DEFAULT_RATE",
    "BulkLedger",
    "BulkPlan",
    "BulkReport",
    "CommandWord",
    "EnsureAction",
    "InterruptedWrite",
    "ItemResult",
    "PlanStatus",
    "SendAction",
    "Target",
    "TenantPlan",
    "TenantResult",
    "apply",
    "load_plan",
    "parse_rate",
    "plan_ensure",
    "plan_send",
    "status",
]
