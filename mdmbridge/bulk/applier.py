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
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from mdmbridge import audit as audit_log
from mdmbridge.audit import AuditLog, AuditTarget
from mdmbridge.bulk.actions import build_command, command_word
from mdmbridge.bulk.ledger import BulkLedger
from mdmbridge.bulk.model import BulkPlan, EnsureAction, SendAction, Target
from mdmbridge.bulk.pace import Pacer
from mdmbridge.bulk.planner import find_existing
from mdmbridge.bulk.report import BulkReport, ItemResult, TenantResult
from mdmbridge.client import Client
from mdmbridge.config import Tenant
from mdmbridge.errors import (
    AuthError,
    ConfigError,
    DryRunViolation,
    MDMError,
    RateLimited,
    UnsupportedOperation,
)
from mdmbridge.models import Command

# (tenant, targets handled, targets of the tenant)
BulkProgress = Callable[[str, int, int], None]
# Errors after which every other send to the tenant would fail the same way.
_STOPS_TENANT = (AuthError, RateLimited, UnsupportedOperation, ConfigError)
SOURCE = "bulk apply"


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


class _TenantRun:
    def __init__(
        self,
        plan: BulkPlan,
        name: str,
        targets: list[Target],
        given: Tenant | Client,
        ledger: BulkLedger,
        log: AuditLog | None,
        stop: threading.Event,
        progress: BulkProgress | None,
    ) -> None:
        self.plan, self.name, self.targets, self.given = plan, name, targets, given
        self.ledger, self.log, self.stop, self.progress = ledger, log, stop, progress
        self.dry_run = False
        self.resend_unknown = False
        self.rate: float | None = None
        self.outcome = TenantResult(name, targets[0].vendor)
        self.results: list[ItemResult] = []
        self.sent = 0
        self._halt = threading.Event()  # this tenant only
        self._lock = threading.Lock()
        self._handled = 0
        self.command: Command | None = None

    # ------------------------------------------------------------------ the run

    def run(self) -> None:
        todo: list[Target] = []
        for target in self.targets:
            early = self.settled(target)
            if early is not None:
                self.add(early)
            else:
                todo.append(target)
        if not todo:
            return
        try:
            if isinstance(self.given, Client):
                self.work(self.given, todo)
            else:
                with self.given.connect(read_only=self.dry_run) as client:
                    self.work(client, todo)
        except MDMError as error:  # connecting failed: the tenant stops, its targets wait
            self.halt(error)
            done = {r.key for r in self.results}
            for target in todo:
                if target.key not in done:
                    self.add(self.result(target, "pending", f"not sent: {error}"))

    def work(self, client: Client, todo: list[Target]) -> None:
        if isinstance(self.plan.action, SendAction):  # a damaged plan: before any send
            self.command = build_command(self.plan.action.command, self.plan.action.params)
        pacer = Pacer(None if self.dry_run else self.rate)
        cap = client.adapter.settings.max_concurrency
        waiting: queue.SimpleQueue[Target] = queue.SimpleQueue()
        for target in todo:
            waiting.put(target)

        def worker(limit: int | None = None) -> None:
            while limit is None or limit > 0:
                if limit is not None:
                    limit -= 1
                try:
                    target = waiting.get_nowait()
                except queue.Empty:
                    return
                if self.stop.is_set() or self._halt.is_set():
                    why = self.outcome.stopped or "the run was stopped"
                    self.add(self.result(target, "pending", f"not sent: {why}"))
                    continue
                if not pacer.wait(self.stop):
                    self.add(self.result(target, "pending", "not sent: the run was stopped"))
                    continue
                try:
                    item = self.one(client, target)
                except Exception as exc:  # a bug: this target fails, the tenant stops
                    error = MDMError(f"internal error: {type(exc).__name__}: {exc}")
                    self.halt(error)
                    item = self.failed(target, error, "internal error")
                self.add(item)

        # One first, alone: refused credentials or a wrong command cost one request, not
        # one per worker. Then up to the tenant's concurrency cap.
        worker(limit=1)
        threads = [
            threading.Thread(target=worker, name=f"mdmbridge-bulk-{self.name}-{n}", daemon=True)
            for n in range(max(1, min(cap, len(todo) - 1)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def settled(self, target: Target) -> ItemResult | None:
        """What needs no request: done before, or unknown and not to be re-sent."""
        state = self.ledger.state(target.key)
        entry = self.ledger.entries.get(target.key)
        if state == "done":
            how = entry.how if entry is not None else None
            note = "reused: it already existed" if how == "reused" else "done in an earlier run"
            return self.result(target, "done", note, result_id=entry.result_id if entry else None)
        if target.op == "reuse" and self.dry_run:
            return self.result(target, "done", "reused: it already exists", target.existing_id)
        sends = isinstance(self.plan.action, SendAction)
        if state == "unknown" and sends and not self.resend_unknown:
            item = self.result(
                target,
                "unknown",
                "not re-sent: an earlier send's outcome is unknown "
                "(check the device; --resend-unknown sends it again)",
            )
            if entry is not None:
                item.error_class, item.error = entry.error_class, entry.error
            return item
        return None

    def one(self, client: Client, target: Target) -> ItemResult:
        action = self.plan.action
        if isinstance(action, EnsureAction):
            return self.ensure(client, target, action)
        return self.send(client, target, action)

    # ------------------------------------------------------------------ a command

    def send(self, client: Client, target: Target, action: SendAction) -> ItemResult:
        command = self.command
        assert command is not None, "work() builds the command first"
        device_id = str(target.device_id)
        if self.dry_run:
            try:
                client.devices.send(device_id, command)
            except DryRunViolation:
                return self.result(target, "would send", "dry run: nothing sent")
            except MDMError as error:
                return self.failed(target, error, "refused before sending")
            raise ConfigError("a dry run sent a command: the client is not read-only")
        self.ledger.begin(target.key)
        try:
            client.devices.send(device_id, command)
        except BaseException as error:
            return self.after_error(target, error)
        self.sent += 1
        self.ledger.finish(target.key, "done", how="sent")
        self.audit(target, None)
        return self.result(target, "done", "sent", sent=True)

    # ------------------------------------------------------------------ ensure-*

    def ensure(self, client: Client, target: Target, action: EnsureAction) -> ItemResult:
        entity = action.entity
        try:
            found, _ = find_existing(client, entity, action.name)
        except MDMError as error:
            if isinstance(error, _STOPS_TENANT):
                self.halt(error)
            return self.failed(target, error, f"could not look for the {entity}")
        if len(found) > 1:
            ids = ", ".join(r.id for r in found)
            return self.result(
                target, "failed", f"{len(found)} {entity}s are named {action.name!r} ({ids})"
            )
        if found:
            state = self.ledger.state(target.key)
            how = "reused" if state == "pending" or target.op == "reuse" else "adopted"
            if not self.dry_run:
                self.ledger.finish(target.key, "done", how=how, result_id=found[0].id)
            note = (
                "reused: it already exists"
                if how == "reused"
                else "an earlier run's create had landed"
            )
            return self.result(target, "done", note, found[0].id)
        namespace: Any = client.groups if entity == "group" else client.tags
        if self.dry_run:
            try:
                namespace.create(name=action.name)
            except DryRunViolation:
                return self.result(target, "would create", "dry run: nothing sent")
            except MDMError as error:
                return self.failed(target, error, "refused before sending")
            raise ConfigError("a dry run created a record: the client is not read-only")
        self.ledger.begin(target.key)
        try:
            record = namespace.create(name=action.name)
        except BaseException as error:
            return self.after_error(target, error)
        self.sent += 1
        self.ledger.finish(target.key, "done", how="created", result_id=record.id)
        self.audit(target, None, result_id=record.id)
        return self.result(target, "done", "created", record.id, sent=True)

    # ------------------------------------------------------------------ outcomes

    def after_error(self, target: Target, error: BaseException) -> ItemResult:
        """Record a send that did not end in a clean answer; re-raise what is not ours."""
        sent = audit_log.was_sent(error)
        outcome = audit_log.outcome_of(error) if sent else "failed"
        state: Literal["unknown", "failed"] = "unknown" if outcome == "unknown" else "failed"
        text = _error_text(error)
        self.ledger.finish(
            target.key, state, how=None, error_class=type(error).__name__, error=text
        )
        if sent:
            self.sent += 1
            self.audit(target, error)
        if not isinstance(error, Exception):
            raise error  # SystemExit and the like, after the ledger says so
        if isinstance(error, _STOPS_TENANT) and isinstance(error, MDMError):
            self.halt(error)
        note = "outcome unknown: it may have landed" if state == "unknown" else "refused"
        if not sent:
            note = "refused before sending"
        item = self.result(target, state, note, sent=sent)
        item.error_class, item.error = type(error).__name__, text
        return item

    def failed(self, target: Target, error: MDMError, note: str) -> ItemResult:
        item = self.result(target, "failed", note)
        item.error_class, item.error = type(error).__name__, _error_text(error)
        return item

    def halt(self, error: MDMError) -> None:
        with self._lock:
            if self.outcome.stopped is None:
                self.outcome.stopped = f"{type(error).__name__}: {_error_text(error)}"
                self.outcome.stopped_by = error
        self._halt.set()

    def audit(
        self, target: Target, error: BaseException | None, result_id: str | None = None
    ) -> None:
        if self.log is None:
            return
        audit_target = _audit_target(self.plan, target)
        if result_id is not None:
            audit_target = AuditTarget(audit_target.type, result_id, audit_target.name)
        self.log.record(
            tenant=target.tenant,
            vendor=target.vendor,
            action=_action_name(self.plan, target),
            target=audit_target,
            outcome=audit_log.outcome_of(error),
            params=_params(self.plan),
            error=error,
            source=SOURCE,
            extra={"plan": self.plan.digest()},
        )

    def result(
        self,
        target: Target,
        status: str,
        note: str = "",
        result_id: str | None = None,
        *,
        sent: bool = False,
    ) -> ItemResult:
        return ItemResult(
            key=target.key,
            tenant=target.tenant,
            vendor=target.vendor,
            op=target.op,
            device_id=target.device_id,
            name=target.name,
            serial=target.serial,
            status=status,
            note=note,
            attempts=self.ledger.attempts(target.key),
            result_id=result_id,
            sent=sent,
        )

    def add(self, item: ItemResult) -> None:
        with self._lock:
            self.results.append(item)
            self._handled += 1
            handled = self._handled
        if self.progress is not None:
            self.progress(self.name, handled, len(self.targets))


def _action_name(plan: BulkPlan, target: Target) -> str:
    action = plan.action
    if isinstance(action, SendAction):
        return command_word(action.command).action
    return f"{action.entity}.create"


def _audit_target(plan: BulkPlan, target: Target) -> AuditTarget:
    if isinstance(plan.action, SendAction):
        return AuditTarget("device", target.device_id, target.name, target.serial)
    return AuditTarget(plan.action.entity, target.existing_id, target.name)


def _params(plan: BulkPlan) -> dict[str, Any]:
    action = plan.action
    return dict(action.params) if isinstance(action, SendAction) else {"name": action.name}


def _error_text(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
