"""Migration between MDM tenants and vendors: plan -> apply -> verify.

    plan = mdmbridge.migrate.plan(source, target)          # reads both; writes nothing
    plan.save("plan.json")                                 # reviewable, diffable
    report = mdmbridge.migrate.apply(plan, target, ledger="plan.ledger.jsonl")
    check = mdmbridge.migrate.verify(source, target, ledger="plan.ledger.jsonl")
    assert check.complete

The CLI (``mdmbridge migrate plan|apply|verify``) is a thin layer over these three calls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mdmbridge import documents
from mdmbridge.client import Client
from mdmbridge.migrate.applier import ApplyProgress, ApplyReport, StepResult, apply_plan
from mdmbridge.migrate.ledger import Ledger, read_header, read_targets
from mdmbridge.migrate.model import Note, Plan, PlanOptions, Side, Step, load_plan
from mdmbridge.migrate.planner import check_plan
from mdmbridge.migrate.snapshot import Snapshot


def plan(
    source: Client,
    target: Client,
    *,
    options: PlanOptions | None = None,
    ledger: str | Path | None = None,
) -> Plan:
    """Read both sides and plan every write; with ``ledger``, what is recorded there counts
    as done (re-planning a migration that is under way)."""
    return _plan(source, target, options=options, ledger=ledger)[0]


def _plan(
    source: Client,
    target: Client,
    *,
    options: PlanOptions | None,
    ledger: str | Path | None,
) -> tuple[Plan, list[dict[str, Any]]]:
    options = options or PlanOptions()
    mapped: dict[str, str] = {}
    if ledger is not None and Path(ledger).exists():
        sides = Plan(source=_side(source), target=_side(target), created_at="")
        mapped = read_targets(Path(ledger), sides)
    return check_plan(
        Snapshot.read(source),
        Snapshot.read(target),
        target_writable=target.adapter.writable,
        options=options,
        ledger=mapped,
    )


def apply(
    plan: Plan,
    target: Client,
    *,
    ledger: str | Path | None,
    dry_run: bool = False,
    progress: ApplyProgress | None = None,
) -> ApplyReport:
    """Execute ``plan`` in order; a dry run needs a read-only client and writes no ledger."""
    return apply_plan(
        plan,
        target,
        ledger_path=None if ledger is None else Path(ledger),
        dry_run=dry_run,
        progress=progress,
    )


@dataclass
class VerifyReport:
    source: str
    target: str
    complete: bool
    missing: list[dict[str, Any]] = field(default_factory=list)  # records not in the target
    # fields that differ, and records two target records match (with both ``target_ids``)
    different: list[dict[str, Any]] = field(default_factory=list)
    unlinked: list[dict[str, Any]] = field(default_factory=list)  # links not in place
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    not_migrated: int = 0  # what the target cannot hold (listed in the plan)

    def to_json(self) -> str:
        return documents.dumps(asdict(self))


def verify(source: Client, target: Client, *, ledger: str | Path) -> VerifyReport:
    """Compare both sides through the ledger: complete when nothing is left to write and
    no source record has a duplicate in the target (two target users with its e-mail, two
    target groups with its path: the target does not hold the source's records one to one)."""
    header = read_header(Path(ledger))
    options = PlanOptions(**header.get("options", {}))
    expected, duplicates = _plan(source, target, options=options, ledger=ledger)
    report = VerifyReport(
        f"{source.vendor}:{source.tenant}", f"{target.vendor}:{target.tenant}", False
    )
    for step in expected.steps:
        entry = {"ref": step.ref, "kind": step.kind, "reason": step.reason}
        if step.action == "create":
            report.missing.append(entry)
        elif step.action == "update":
            report.different.append(entry | {"fields": sorted(step.fields)})
        elif step.action == "link":
            report.unlinked.append(entry)
    report.different.extend(duplicates)
    report.ambiguous = [n.model_dump() for n in expected.ambiguous]
    report.not_migrated = len(expected.not_migrated)
    report.complete = not (
        report.missing or report.different or report.unlinked or report.ambiguous
    )
    return report


def _side(client: Client) -> Side:
    return Side(tenant=client.tenant, vendor=client.vendor)


__all__ = [
    "ApplyReport",
    "Ledger",
    "Note",
    "Plan",
    "PlanOptions",
    "Step",
    "StepResult",
    "VerifyReport",
    "apply",
    "load_plan",
    "plan",
    "verify",
]
