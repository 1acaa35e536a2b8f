"""The bulk plan file: every target of one action across tenants, reviewable before apply.

    {"format": "mdmbridge-bulk-plan", "version": 1, "created_at": "...Z",
     "action": {"kind": "send", "command": "message", "params": {"message": "Hej"}},
     "where": ["platform=ios"],
     "tenants": [{"tenant": "acme-duo", "vendor": "duostation", "status": "planned",
                  "reason": null, "listed": 120, "counts": {"send": 37}}, ...],
     "targets": [{"key": "acme-duo/0b8e...", "tenant": "acme-duo", "vendor": "duostation",
                  "op": "send", "device_id": "0b8e...", "name": "iPad 12",
                  "serial": "F2LX...", "user_id": "7", "user": "Åsa Öberg"}, ...],
     "summary": {...}}

A target's ``key`` is unique in the plan and is what the ledger records. ``ensure-group``
and ``ensure-tag`` plans have one target per tenant, ``op`` ``create`` or ``reuse`` (the
record exists: nothing to write, ``existing_id`` says which).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mdmbridge import documents
from mdmbridge.errors import ConfigError

PLAN_FORMAT = "mdmbridge-bulk-plan"
TenantStatus = Literal["planned", "skipped", "failed"]
Op = Literal["send", "create", "reuse"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SendAction(_Strict):
    kind: Literal["send"] = "send"
    command: str  # as users type it: lock, wipe, clear-passcode, message, ...
    params: dict[str, Any] = Field(default_factory=dict)  # message, app_id, vpp, identifier

    def describe(self) -> str:
        """``send message 'Hej'``, ``send install-app '12' (vpp)``, ``send lock``."""
        argument = [v for k, v in self.params.items() if k != "vpp"]
        text = f"send {self.command}" + (f" {argument[0]!r}" if argument else "")
        vpp = self.params.get("vpp")
        return text + ("" if vpp is None else " (vpp)" if vpp else " (no vpp)")


class EnsureAction(_Strict):
    kind: Literal["ensure-group", "ensure-tag"]
    name: str

    @property
    def entity(self) -> Literal["group", "tag"]:
        return "group" if self.kind == "ensure-group" else "tag"

    def describe(self) -> str:
        return f"{self.kind} {self.name!r}"


Action = Annotated[SendAction | EnsureAction, Field(discriminator="kind")]


class Target(_Strict):
    key: str
    tenant: str
    vendor: str
    op: Op = "send"
    device_id: str | None = None
    name: str | None = None  # the device's name; for ensure-*, the group's or tag's
    serial: str | None = None
    user_id: str | None = None
    user: str | None = None  # the user's name (or e-mail), where the tenant could say
    existing_id: str | None = None  # ensure-*: the record found at planning

    @property
    def writes(self) -> bool:
        return self.op != "reuse"

    def label(self) -> str:
        if self.device_id is not None:
            bits = [b for b in (self.name, self.serial) if b]
            return f"device {self.device_id}" + (f" ({', '.join(bits)})" if bits else "")
        return f"{self.op} {self.name!r}"


class TenantPlan(_Strict):
    tenant: str
    vendor: str
    status: TenantStatus
    reason: str | None = None  # why skipped or failed
    error_class: str | None = None  # failed: the error's class (AuthError, TransportError, ...)
    listed: int = 0  # records read to choose the targets
    counts: dict[str, int] = Field(default_factory=dict)  # op -> targets


class BulkPlan(_Strict):
    format: Literal["mdmbridge-bulk-plan"] = "mdmbridge-bulk-plan"
    version: Literal[1] = 1
    created_at: str
    action: Action
    where: list[str] = Field(default_factory=list)
    tenants: list[TenantPlan] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)

    @property
    def writes(self) -> list[Target]:
        return [t for t in self.targets if t.writes]

    def summary(self) -> dict[str, Any]:
        return {
            "targets": len(self.targets),
            "writes": len(self.writes),
            "tenants_planned": sum(1 for t in self.tenants if t.status == "planned"),
            "tenants_skipped": sum(1 for t in self.tenants if t.status == "skipped"),
            "tenants_failed": sum(1 for t in self.tenants if t.status == "failed"),
        }

    def digest(self) -> str:
        """What the ledger is bound to: the plan without its creation time."""
        return documents.digest(self)

    def save(self, path: str | Path) -> None:
        """Written whole to a temporary file, then renamed: never a half plan."""
        document = self.model_dump(mode="json")
        document["summary"] = self.summary()
        documents.save_document(path, document)


def load_plan(path: str | Path) -> BulkPlan:
    document = documents.load_document(
        path, format=PLAN_FORMAT, description="an mdmbridge bulk plan"
    )
    document.pop("summary", None)
    try:
        plan = BulkPlan.model_validate(document)
    except Exception as exc:
        raise documents.damaged(path, exc) from None
    keys = [t.key for t in plan.targets]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{path}: the plan is damaged: a target is listed twice")
    return plan


def ledger_path_for(plan_path: Path) -> Path:
    """The ledger beside the plan: ``plan.json`` -> ``plan.ledger.jsonl``."""
    return plan_path.with_name(plan_path.stem + ".ledger.jsonl")
