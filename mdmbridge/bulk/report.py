"""What an apply did, target by target, and where a plan stands (``bulk status``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mdmbridge import documents
from mdmbridge.bulk.ledger import STATES, BulkLedger
from mdmbridge.bulk.model import BulkPlan
from mdmbridge.errors import MDMError


@dataclass
class ItemResult:
    key: str
    tenant: str
    vendor: str
    op: str
    device_id: str | None
    name: str | None
    serial: str | None
    status: str  # done, failed, unknown, pending; in a dry run: would send, would create
    note: str = ""
    error_class: str | None = None
    error: str | None = None
    attempts: int = 0
    result_id: str | None = None  # ensure-*: the group's or tag's id
    sent: bool = False  # sent by this run


@dataclass
class TenantResult:
    tenant: str
    vendor: str
    stopped: str | None = None  # why this tenant stopped early
    stopped_by: MDMError | None = field(default=None, repr=False, compare=False)


@dataclass
class BulkReport:
    digest: str
    action: dict[str, Any]
    dry_run: bool
    ledger: str | None
    items: list[ItemResult] = field(default_factory=list)
    tenants: list[TenantResult] = field(default_factory=list)
    interrupted: str | None = None
    cancelled: bool = False  # by Ctrl-C (KeyboardInterrupt) in the calling thread
    sent: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.status] = out.get(item.status, 0) + 1
        return dict(sorted(out.items()))

    def by_tenant(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for item in self.items:
            counts = out.setdefault(item.tenant, {})
            counts[item.status] = counts.get(item.status, 0) + 1
        return out

    @property
    def ok(self) -> bool:
        finished = {"done", "would send", "would create"}
        return self.interrupted is None and all(i.status in finished for i in self.items)

    def errors(self) -> list[MDMError]:
        return [t.stopped_by for t in self.tenants if t.stopped_by is not None]

    def to_json(self) -> str:
        document = {
            "digest": self.digest,
            "action": self.action,
            "dry_run": self.dry_run,
            "ledger": self.ledger,
            "ok": self.ok,
            "interrupted": self.interrupted,
            "sent": self.sent,
            "seconds": round(self.seconds, 3),
            "counts": self.counts(),
            "tenants": [
                {
                    "tenant": t.tenant,
                    "vendor": t.vendor,
                    "counts": self.by_tenant().get(t.tenant, {}),
                    "stopped": t.stopped,
                }
                for t in self.tenants
            ],
            "items": [asdict(i) for i in self.items],
        }
        return documents.dumps(document)


@dataclass
class PlanStatus:
    """Per tenant: targets done, failed, unknown and pending, from the ledger alone."""

    digest: str
    action: dict[str, Any]
    ledger: str
    tenants: dict[str, dict[str, int]]  # tenant -> state -> targets
    vendors: dict[str, str]
    unknown: list[str] = field(default_factory=list)  # their keys, to check by hand

    @property
    def complete(self) -> bool:
        return all(counts["done"] == sum(counts.values()) for counts in self.tenants.values())

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "tenant": name,
                "vendor": self.vendors[name],
                **counts,
                "targets": sum(counts.values()),
            }
            for name, counts in self.tenants.items()
        ]


def plan_status(plan: BulkPlan, ledger_path: Path) -> PlanStatus:
    ledger = BulkLedger(ledger_path, plan)
    tenants: dict[str, dict[str, int]] = {}
    vendors: dict[str, str] = {}
    unknown: list[str] = []
    for target in plan.targets:
        counts = tenants.setdefault(target.tenant, dict.fromkeys(STATES, 0))
        vendors[target.tenant] = target.vendor
        state = ledger.state(target.key)
        counts[state] += 1
        if state == "unknown":
            unknown.append(target.key)
    return PlanStatus(
        plan.digest(),
        plan.action.model_dump(mode="json"),
        str(ledger_path),
        tenants,
        vendors,
        unknown,
    )
