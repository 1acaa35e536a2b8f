"""Execute a plan against the target, in order, resumably, never creating anything twice.

* Every write is preceded by a ``begin`` ledger line and followed by ``done``; a re-run
  skips what is done.
* A write whose outcome is unknown (a timeout or a dropped connection after sending, a cut
  off answer, a 5xx) is never re-sent blindly: the record is looked up in the target
  first. Found, it is adopted into the ledger; not found, the run stops, and the next run
  looks again before it creates (or links). Updates set the same values whenever they are
  sent, so an update whose outcome was unknown is simply sent again on the next run.
* A dry run uses a read-only client: the transport refuses every write before sending,
  so no adapter bug can leak one; the report says what would have been written.
* Every write sent is one line in the audit log given (``audit=``), else the active one
  (:mod:`mdmbridge.audit`; the CLI always has one), opened before the first write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from mdmbridge import audit as audit_log
from mdmbridge import documents
from mdmbridge.audit import AuditLog, AuditTarget
from mdmbridge.client import Client
from mdmbridge.errors import (
    AuthError,
    ConfigError,
    Conflict,
    DryRunViolation,
    MDMError,
    NotFound,
    PermissionDenied,
    RateLimited,
    UnsupportedOperation,
    ValidationError,
)
from mdmbridge.migrate.kinds import KINDS, RECORD_KINDS
from mdmbridge.migrate.ledger import Ledger
from mdmbridge.migrate.model import Plan, Step, ref_kind, ref_of
from mdmbridge.migrate.snapshot import fold

Outcome = Literal["done", "adopted", "reused", "already done", "would write", "failed", "skipped"]
# (steps handled, steps in all, the step)
ApplyProgress = Callable[[int, int, Step], None]
# Errors that prove the vendor did not apply the write.
DEFINITE = (ValidationError, Conflict, NotFound, PermissionDenied, UnsupportedOperation)


@dataclass
class StepResult:
    step: str
    ref: str
    kind: str
    action: str
    outcome: Outcome
    target_id: str | None = None
    message: str = ""


@dataclass
class ApplyReport:
    source: str
    target: str
    dry_run: bool
    ledger: str | None
    results: list[StepResult] = field(default_factory=list)
    interrupted: str | None = None
    writes_sent: int = 0
    seconds: float = 0.0
    # The error that stopped the run, if one did (AuthError: credentials refused); the
    # CLI picks its exit code by its class. Not in the JSON report (``interrupted`` is).
    stopped_by: MDMError | None = field(default=None, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for result in self.results:
            out[result.outcome] = out.get(result.outcome, 0) + 1
        return dict(sorted(out.items()))

    @property
    def ok(self) -> bool:
        return self.interrupted is None and not any(
            r.outcome in ("failed", "skipped") for r in self.results
        )

    def to_json(self) -> str:
        document = asdict(replace(self, stopped_by=None))
        document.pop("stopped_by")
        document["counts"] = self.counts()
        document["ok"] = self.ok
        return documents.dumps(document)


class _Stop(Exception):
    """Ends the run early but cleanly; what is done stays done, a re-run continues."""

    def __init__(self, message: str, error: MDMError) -> None:
        super().__init__(message)
        self.error = error


def apply_plan(
    plan: Plan,
    target: Client,
    *,
    ledger_path: Path | None,
    dry_run: bool = False,
    progress: ApplyProgress | None = None,
    audit: AuditLog | None = None,
) -> ApplyReport:
    if (target.tenant, target.vendor) != (plan.target.tenant, plan.target.vendor):
        raise ConfigError(
            f"this plan writes to {plan.target.vendor}:{plan.target.tenant}, "
            f"not {target.vendor}:{target.tenant}"
        )
    if dry_run and not target.adapter.read_only:
        raise ConfigError("a dry run needs a read-only client (connect(..., read_only=True))")
    started = time.monotonic()
    log = None if dry_run else audit_log.resolve(audit)  # unwritable: stop before writing
    # A dry run reads the ledger (what is done is not "would write") but never writes it.
    ledger = Ledger(ledger_path, plan, write=not dry_run)
    run = _Run(plan, target, ledger, dry_run, progress)
    run.audit = log
    report = run.run()
    report.ledger = None if dry_run or ledger_path is None else str(ledger_path)
    report.seconds = time.monotonic() - started
    return report


class _Run:
    def __init__(
        self,
        plan: Plan,
        client: Client,
        ledger: Ledger,
        dry_run: bool,
        progress: ApplyProgress | None,
    ) -> None:
        self.plan, self.client, self.ledger, self.dry_run, self.progress = (
            plan,
            client,
            ledger,
            dry_run,
            progress,
        )
        self.report = ApplyReport(
            f"{plan.source.vendor}:{plan.source.tenant}",
            f"{plan.target.vendor}:{plan.target.tenant}",
            dry_run,
            None,
        )
        self.would: set[str] = set()  # refs a dry run would have created
        self.audit: AuditLog | None = None

    def run(self) -> ApplyReport:
        total = len(self.plan.steps)
        try:
            for number, step in enumerate(self.plan.steps, 1):
                self.report.results.append(self.step(step))
                if self.progress is not None:
                    self.progress(number, total, step)
        except _Stop as stop:
            self.report.interrupted = str(stop)
            self.report.stopped_by = stop.error
        finally:
            self.ledger.close()
        return self.report

    def result(
        self, step: Step, outcome: Outcome, target_id: str | None = None, message: str = ""
    ) -> StepResult:
        return StepResult(step.id, step.ref, step.kind, step.action, outcome, target_id, message)

    def step(self, step: Step) -> StepResult:
        done = self.ledger.is_done(step.id)
        if done is not None:
            return self.result(step, "already done", done.target_id)
        if step.action == "reuse":
            self.ledger.finish(step.id, step.ref, step.target_id, "reused")
            return self.result(step, "reused", step.target_id)
        fields, waiting = self.resolve(step.fields)
        if waiting:
            if self.dry_run and all(ref in self.would for ref in waiting):
                self.would.add(step.ref)
                return self.result(step, "would write", message=f"after {', '.join(waiting)}")
            return self.result(
                step, "skipped", message=f"depends on {', '.join(waiting)}, which did not happen"
            )
        if self.ledger.unknown_outcome(step.id) and step.action in ("create", "link"):
            found = self.lookup(step, fields)
            if found is not None:
                self.ledger.finish(step.id, step.ref, found, "adopted")
                return self.result(step, "adopted", found, "an earlier run's write had landed")
        return self.write(step, fields)

    def write(self, step: Step, fields: dict[str, Any]) -> StepResult:
        self.ledger.begin(step.id)
        try:
            self.report.writes_sent += 1
            try:
                target_id = _execute(self.client, step, fields)
            except BaseException as error:
                self.audited(step, fields, error, None)
                raise
            self.audited(step, fields, None, target_id)
        except DryRunViolation:
            self.report.writes_sent -= 1
            self.would.add(step.ref)
            return self.result(step, "would write", message=step.reason)
        except AuthError as error:
            raise _Stop(f"credentials refused by the target: {error}", error) from None
        except RateLimited as error:
            raise _Stop(
                f"the target is rate limiting writes; run apply again later ({error})", error
            ) from None
        except Conflict as error:
            if step.action == "link":  # it may exist already: adopt it rather than fail
                found = self.lookup(step, fields)
                if found is not None:
                    self.ledger.finish(step.id, step.ref, found, "adopted")
                    return self.result(step, "adopted", found, "already linked in the target")
            return self.result(step, "failed", message=str(error))
        except DEFINITE as error:
            return self.result(step, "failed", message=str(error))
        except MDMError as error:
            return self.unknown(step, fields, error)
        self.ledger.finish(step.id, step.ref, target_id, "done")
        return self.result(step, "done", target_id)

    def audited(
        self,
        step: Step,
        fields: dict[str, Any],
        error: BaseException | None,
        target_id: str | None,
    ) -> None:
        """One audit line for a write that was sent (not for one refused before sending)."""
        if self.audit is None or (error is not None and not audit_log.was_sent(error)):
            return
        kind = KINDS[step.kind]
        params = dict(fields)
        if kind.name in RECORD_KINDS:
            action = f"{kind.name}.{step.action}"
            name = fields.get("name")
            what = AuditTarget(kind.name, target_id or step.target_id, name)
        elif kind.target is None:  # a device's user
            action, what = "device.assign-user", AuditTarget("device", step.target_id)
        else:
            action = f"tag.link-{kind.target.value}"
            what = AuditTarget(kind.target.value, str(fields.get("target_id")))
            params = {"tag_id": fields.get("tag_id")}
        self.audit.record(
            tenant=self.client.tenant,
            vendor=self.client.vendor,
            action=action,
            target=what,
            outcome=audit_log.outcome_of(error),
            params=params,
            error=error,
            source="migrate apply",
            extra={"plan": self.ledger.plan_digest, "step": step.id},
        )

    def unknown(self, step: Step, fields: dict[str, Any], error: MDMError) -> StepResult:
        """The write may or may not have landed: look, never re-send blindly."""
        if step.action in ("create", "link"):
            found = self.lookup(step, fields)
            if found is not None:
                self.ledger.finish(step.id, step.ref, found, "adopted")
                return self.result(step, "adopted", found, f"the write landed despite: {error}")
        if step.action == "update":
            raise _Stop(
                f"step {step.id}: the outcome of an update is unknown ({error}). Run apply again: "
                "an update sets the same values, so it is simply sent again.",
                error,
            )
        raise _Stop(
            f"step {step.id}: the outcome of a write is unknown ({error}); it was not found in the "
            "target, and is not re-sent blindly. Run apply again: it looks again before it writes.",
            error,
        )

    def lookup(self, step: Step, fields: dict[str, Any]) -> str | None:
        try:
            return _lookup(self.client, step, fields, taken=self.taken(step.kind))
        except MDMError as error:
            raise _Stop(
                f"step {step.id}: cannot check the target for an earlier write ({error})", error
            ) from None

    def taken(self, kind: str) -> set[str]:
        """Target ids of this kind the ledger already maps (ids of different kinds overlap:
        DuoSTATION numbers groups, users and tags each from 1)."""
        return {target for ref, target in self.ledger.targets.items() if ref_kind(ref) == kind}

    def resolve(self, fields: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        out: dict[str, Any] = {}
        waiting: list[str] = []
        for name, value in fields.items():
            ref = ref_of(value)
            if ref is None:
                out[name] = value
            elif ref in self.ledger.targets:
                out[name] = self.ledger.targets[ref]
            else:
                waiting.append(ref)
        return out, waiting


def _execute(client: Client, step: Step, fields: dict[str, Any]) -> str | None:
    kind = KINDS.get(step.kind)
    if kind is None:
        raise ConfigError(f"unknown step kind {step.kind!r}")
    namespace: Any = getattr(client, kind.entity.name)
    tid = step.target_id
    if kind.name in RECORD_KINDS:
        if step.action == "create":
            return str(namespace.create(**fields).id)
        namespace.update(tid, **fields)
        return tid
    if kind.target is None:  # a device's user
        client.devices.assign_user(str(tid), fields["user_id"])
        return tid
    keyword = f"{kind.target.value}_id"  # link(device_id=..., tag_id=...)
    return str(namespace.link(**{keyword: fields["target_id"], "tag_id": fields["tag_id"]}).id)


def _lookup(client: Client, step: Step, fields: dict[str, Any], *, taken: set[str]) -> str | None:
    """The target record a create or link step would have made, if it exists."""
    kind = step.kind
    if kind == "group":
        parent = fields.get("parent_id")
        hits = [
            g.id
            for g in client.groups.list()
            if fold(g.name) == fold(fields["name"]) and g.parent_id == parent and g.id not in taken
        ]
    elif kind == "tag":
        hits = [
            t.id
            for t in client.tags.list()
            if fold(t.name) == fold(fields["name"]) and t.id not in taken
        ]
    elif kind == "user":
        hits = [u.id for u in _users_like(client, fields) if u.id not in taken]
    elif kind == "device_user":
        device = client.devices.get(str(step.target_id))
        return device.id if device.user_id == fields["user_id"] else None
    else:
        links: Any = getattr(client, KINDS[kind].entity.name)
        hits = [
            link.id
            for link in links.list()
            if link.target_id == str(fields["target_id"]) and link.tag_id == str(fields["tag_id"])
        ]
    if len(hits) > 1:
        raise ConflictingLookup(
            f"step {step.id}: {len(hits)} target records could be the one written; not guessing"
        )
    return hits[0] if hits else None


def _users_like(client: Client, fields: dict[str, Any]) -> list[Any]:
    filters = client.adapter.list_filters.get("users", frozenset())
    email = fields.get("email")
    if email and "email" in filters:
        candidates = client.users.list(email=email)
    else:
        candidates = client.users.list()
    out = []
    for user in candidates:
        if email:
            if fold(user.email) == fold(email):
                out.append(user)
        elif fields.get("account") and user.account:
            if fold(user.account) == fold(fields["account"]):
                out.append(user)
        elif user.name == fields.get("name") and user.group_id == fields.get("group_id"):
            out.append(user)
    return out


class ConflictingLookup(Conflict):
    """Several target records could be the one an unknown-outcome write made."""
